/*
 * writer.c — one recorded stream's WAV file (libsndfile): 16-bit PCM,
 * mono, at the recording's rate.  It places samples by their media
 * timestamp, so that the file's length is the media time it covers:
 * silence before samples that start past the end, nothing of what the
 * file already holds written twice.
 *
 * The header is rewritten after every write (SFC_SET_UPDATE_HEADER_AUTO),
 * so a recd killed at any moment leaves a WAV that players read to its
 * last write, and a restarted recd reopens such a file where it ends.
 *
 * It knows nothing of recordings, sequence numbers or the network; it
 * never allocates per write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "common/xmalloc.h"
#include "recd.h"

#define WRITER_ZEROS	4000	/* samples of silence per write */

struct writer {
	SNDFILE		*sf;
	uint64_t	 samples;	/* the file's length */
	int		 resumed;
};

static const int16_t writer_zeros[WRITER_ZEROS];

int
writer_open(struct writer **wp, const char *path, int rate)
{
	struct writer *w;
	struct stat st;
	SF_INFO info;
	SNDFILE *sf;
	int fd, mode, err;

	/* our own open(2), so that a failure has its errno (libsndfile keeps none) */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		err = errno;
		close(fd);
		return err;
	}
	memset(&info, 0, sizeof(info));
	if (st.st_size > 0) {
		mode = SFM_RDWR;	/* a file of an earlier recd: go on at its end */
	} else {
		mode = SFM_WRITE;
		info.samplerate = rate;
		info.channels = 1;
		info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	}
	errno = 0;
	if ((sf = sf_open_fd(fd, mode, &info, SF_TRUE)) == NULL) {
		err = errno != 0 ? errno : EINVAL;	/* not a WAV we can append to */
		close(fd);
		return err;
	}
	if (mode == SFM_RDWR && (info.samplerate != rate || info.channels != 1 ||
	    info.format != (SF_FORMAT_WAV | SF_FORMAT_PCM_16))) {
		sf_close(sf);
		return WRITER_EFORMAT;
	}
	if (mode == SFM_RDWR && sf_seek(sf, 0, SEEK_END | SFM_WRITE) < 0) {
		sf_close(sf);
		return EIO;
	}
	sf_command(sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	w = xcalloc(1, sizeof(*w));
	w->sf = sf;
	w->samples = mode == SFM_RDWR ? (uint64_t)info.frames : 0;
	w->resumed = mode == SFM_RDWR;
	*wp = w;
	return 0;
}

/* Appends n samples; on a short write what was written counts. */
static int
writer_append(struct writer *w, const int16_t *pcm, size_t n)
{
	sf_count_t done;
	int err;

	errno = 0;
	done = sf_write_short(w->sf, pcm, (sf_count_t)n);
	err = errno;
	if (done > 0)
		w->samples += (uint64_t)done;
	if (done == (sf_count_t)n)
		return 0;
	return err != 0 ? err : EIO;
}

int
writer_fill(struct writer *w, uint64_t upto)
{
	size_t n;
	int err;

	while (w->samples < upto) {
		n = upto - w->samples < WRITER_ZEROS ? (size_t)(upto - w->samples) : WRITER_ZEROS;
		if ((err = writer_append(w, writer_zeros, n)) != 0)
			return err;
	}
	return 0;
}

int
writer_put(struct writer *w, uint64_t ts, const int16_t *pcm, size_t n)
{
	uint64_t skip;
	int err;

	if (ts + n <= w->samples)
		return 0;			/* all of it is there: a duplicate */
	if ((err = writer_fill(w, ts)) != 0)
		return err;
	skip = w->samples - ts;			/* what the file already has of it */
	return writer_append(w, pcm + skip, n - (size_t)skip);
}

const char *
writer_strerror(int err)
{
	if (err == WRITER_EFORMAT)
		return "the file exists, in another format";
	return strerror(err);
}

uint64_t
writer_samples(const struct writer *w)
{
	return w->samples;
}

int
writer_resumed(const struct writer *w)
{
	return w->resumed;
}

int
writer_close(struct writer *w)
{
	int err = 0;

	if (w == NULL)
		return 0;
	if (sf_close(w->sf) != 0)
		err = EIO;
	free(w);
	return err;
}
