/*
 * writer.c — one recorded stream's WAV file (libsndfile): 16-bit PCM,
 * mono, at the recording's rate.  It places samples by their media
 * timestamp, so that the file's length is the media time it covers:
 * silence before samples that start past the end, nothing of what the
 * file already holds written twice.
 *
 * Samples gather in memory and go to the file in one write when
 * writer_flush is called (recd does before every ACK, every half second)
 * or WRITER_BUF_S of them are waiting; the header is rewritten after
 * every write (SFC_SET_UPDATE_HEADER_AUTO), so a recd killed at any
 * moment leaves a WAV that players read to its last write, and a
 * restarted recd reopens such a file where it ends.  What was only in
 * memory was not acknowledged, so mediad still has it and sends it again.
 * One write (and header) per half second instead of one per message: at
 * 1,000 calls, about a tenth of the system calls.
 *
 * An EVS stream's file is instead EVS MIME storage (common/evs.h): its
 * header, then one frame (a ToC byte and its data) per 20 ms, a NO_DATA
 * ToC where nothing came.  Each write(2) appends whole frames, so a killed
 * recd leaves a file that ends on a frame, or within its last one, which
 * a reopen cuts off.
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

#include "common/evs.h"
#include "common/xmalloc.h"
#include "recd.h"

#define WRITER_ZEROS	4000	/* samples of silence per write */
#define WRITER_BUF_S	1	/* seconds gathered at most before a write */

struct writer {
	SNDFILE		*sf;		/* a WAV, or */
	int		 evs_fd;	/* an EVS file (-1: not) */
	unsigned	 fs;		/* EVS: samples per 20 ms frame */
	uint64_t	 samples;	/* the file's length, with what is gathered */
	int		 resumed;
	int16_t		*buf;		/* WAV: gathered samples, not written yet */
	size_t		 nbuf, cap;
};

static uint8_t writer_no_data[WRITER_ZEROS / 8];	/* NO_DATA ToCs, made at first use */

/* An EVS file's frames after its header: their count, and the bytes of the whole ones. */
static int
writer_evs_scan(int fd, uint64_t *frames, off_t *end)
{
	uint8_t buf[4096];
	off_t pos = EVS_HEADER_LEN, whole = EVS_HEADER_LEN;
	uint64_t n = 0;
	size_t have = 0, at = 0;
	ssize_t r;
	int b;

	if (lseek(fd, EVS_HEADER_LEN, SEEK_SET) < 0)
		return errno;
	for (;;) {
		if (at == have) {
			if ((r = read(fd, buf, sizeof(buf))) < 0)
				return errno;
			if (r == 0)
				break;
			have = (size_t)r;
			at = 0;
		}
		/* a frame: its ToC, then b bytes that may run into the next read */
		if ((b = evs_toc_bytes(buf[at])) < 0)
			return WRITER_EFORMAT;
		at++;
		pos++;
		while (b > 0) {
			size_t take;

			if (at == have) {
				if ((r = read(fd, buf, sizeof(buf))) < 0)
					return errno;
				if (r == 0)
					goto out;	/* cut short: not a whole frame */
				have = (size_t)r;
				at = 0;
			}
			take = have - at < (size_t)b ? have - at : (size_t)b;
			at += take;
			pos += (off_t)take;
			b -= (int)take;
		}
		n++;
		whole = pos;
	}
out:
	*frames = n;
	*end = whole;
	return 0;
}

static int
writer_evs_open(struct writer **wp, int fd, off_t size, int rate)
{
	uint8_t head[EVS_HEADER_LEN], want[EVS_HEADER_LEN];
	struct writer *w;
	uint64_t frames = 0;
	off_t end = EVS_HEADER_LEN;
	int err;

	evs_header(want);
	if (size == 0) {
		if (write(fd, want, sizeof(want)) != (ssize_t)sizeof(want)) {
			err = errno != 0 ? errno : EIO;
			close(fd);
			return err;
		}
	} else {
		if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
		    memcmp(head, want, sizeof(head)) != 0) {
			close(fd);
			return WRITER_EFORMAT;
		}
		if ((err = writer_evs_scan(fd, &frames, &end)) != 0 ||
		    (end < size && ftruncate(fd, end) != 0) || lseek(fd, end, SEEK_SET) < 0) {
			err = err != 0 ? err : errno;
			close(fd);
			return err;
		}
	}
	w = xcalloc(1, sizeof(*w));
	w->evs_fd = fd;
	w->fs = (unsigned)rate / 50;
	w->samples = frames * w->fs;
	w->resumed = size > 0;
	*wp = w;
	return 0;
}

/* Appends len bytes of whole EVS frames (count of them); on a short write none count. */
static int
writer_evs_append(struct writer *w, const void *buf, size_t len, uint64_t count)
{
	ssize_t r = write(w->evs_fd, buf, len);

	if (r == (ssize_t)len) {
		w->samples += count * w->fs;
		return 0;
	}
	if (r > 0)	/* half a frame: take it back, so the file ends on a frame */
		(void)ftruncate(w->evs_fd, lseek(w->evs_fd, -(off_t)r, SEEK_CUR));
	return r < 0 ? errno : ENOSPC;
}

int
writer_put_frames(struct writer *w, uint64_t ts, const uint8_t *data, const uint32_t *lens,
    size_t n)
{
	size_t i, skip = 0, off = 0, len;
	uint64_t first;
	int err;

	if (w->evs_fd < 0)
		return EINVAL;
	first = ts / w->fs;
	while (skip < n && first + skip < w->samples / w->fs)
		off += lens[skip++];		/* there already: duplicates */
	if (skip == n)
		return 0;
	if ((err = writer_fill(w, (first + skip) * w->fs)) != 0)
		return err;
	for (i = skip, len = 0; i < n; i++)
		len += lens[i];
	return writer_evs_append(w, data + off, len, n - skip);
}

static const int16_t writer_zeros[WRITER_ZEROS];

int
writer_open(struct writer **wp, const char *path, int rate, int evs)
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
	if (evs)
		return writer_evs_open(wp, fd, st.st_size, rate);
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
	w->evs_fd = -1;
	w->cap = (size_t)rate * WRITER_BUF_S;
	w->buf = xmalloc(w->cap * sizeof(*w->buf));
	w->samples = mode == SFM_RDWR ? (uint64_t)info.frames : 0;
	w->resumed = mode == SFM_RDWR;
	*wp = w;
	return 0;
}

int
writer_flush(struct writer *w)
{
	sf_count_t done;
	int err;

	if (w->evs_fd >= 0 || w->nbuf == 0)
		return 0;
	errno = 0;
	done = sf_write_short(w->sf, w->buf, (sf_count_t)w->nbuf);
	err = errno;
	if (done == (sf_count_t)w->nbuf) {
		w->nbuf = 0;
		return 0;
	}
	/* a short write: the file keeps what it took, the rest is not there */
	if (done < 0)
		done = 0;
	w->samples -= w->nbuf - (size_t)done;
	w->nbuf = 0;
	return err != 0 ? err : EIO;
}

/* Appends n samples to what is gathered, writing when it is full. */
static int
writer_append(struct writer *w, const int16_t *pcm, size_t n)
{
	size_t take;
	int err;

	while (n > 0) {
		if (w->nbuf == w->cap && (err = writer_flush(w)) != 0)
			return err;
		take = w->cap - w->nbuf < n ? w->cap - w->nbuf : n;
		memcpy(w->buf + w->nbuf, pcm, take * sizeof(*pcm));
		w->nbuf += take;
		w->samples += take;
		pcm += take;
		n -= take;
	}
	return 0;
}

int
writer_fill(struct writer *w, uint64_t upto)
{
	size_t n;
	int err;

	if (w->evs_fd >= 0) {
		if (writer_no_data[0] != EVS_TOC_NO_DATA)
			memset(writer_no_data, EVS_TOC_NO_DATA, sizeof(writer_no_data));
		/* NO_DATA frames, up to a frame that reaches upto */
		while (w->samples < upto) {
			uint64_t want = (upto - w->samples + w->fs - 1) / w->fs;

			n = want < sizeof(writer_no_data) ? (size_t)want : sizeof(writer_no_data);
			if ((err = writer_evs_append(w, writer_no_data, n, n)) != 0)
				return err;
		}
		return 0;
	}
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

	if (w->evs_fd >= 0)
		return EINVAL;
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
	if (w->evs_fd >= 0) {
		if (close(w->evs_fd) != 0)
			err = EIO;
	} else {
		err = writer_flush(w);
		if (sf_close(w->sf) != 0 && err == 0)
			err = EIO;
	}
	free(w->buf);
	free(w);
	return err;
}
