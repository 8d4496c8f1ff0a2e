/*
 * recd.h — the private header of recd, Parley's recording daemon: its
 * context struct, the recording model, and the prototypes of every recd
 * file, grouped by file.
 *
 * recd is layered like mediad:
 *   ctl.c      the control socket (ZeroMQ ROUTER): decodes proto messages
 *              from mediad, calls rec.c, encodes the answers     ctl_*
 *   rec.c      recordings: naming, opening and resuming, frames in
 *              sequence, gaps, acks, stop and failure            rec_*
 *   sidecar.c  the JSON file beside a recording's WAVs (jansson) sidecar_*
 *   writer.c   one stream's WAV file (libsndfile): placement by
 *              media timestamp, silence, crash-safe header       writer_*
 *   main.c     options, config, logging, privileges, the loop
 * rec.c never calls zmq_*; writer.c knows nothing of recordings.
 */
#ifndef PARLEY_RECD_H
#define PARLEY_RECD_H

#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "common/loop.h"
#include "common/zsock.h"
#include "proto/proto.h"

#define RECD_ACK_MS		500	/* unasked REC_ACKs at most this often per stream */
#define RECD_RECENT		64	/* finished recordings remembered for a repeated REC_STOP */
#define RECD_AHEAD_MAX_S	3600	/* a frame may start at most this far past the wall clock */
#define RECD_SAFE_ID_MAX	100	/* bytes of a recording id in a file name */
#define RECD_FRAME_MS		20
#define RECD_OWNER_MS		5000	/* a mediad silent this long (no HELLO) is gone */
#define RECD_START_AHEAD_MS	(10 * 60 * 1000)	/* REC_START's start: at most this far ahead, */
#define RECD_START_AGE_MS	(24 * 3600 * 1000ull)	/* at most this old */
#define RECD_BUCKETS		1024	/* hash buckets of the open recordings */

struct recd;
struct rec;
struct writer;

/* ---------------------------------------------------------------- writer.c */

/* an open() that worked on a file libsndfile cannot append to as asked */
#define WRITER_EFORMAT		10000

/*
 * Opens path for writing at rate: creates it, or, when it exists and is
 * not empty, reopens it and goes on at its end (it must be a 16-bit mono
 * WAV of that rate: WRITER_EFORMAT otherwise).  0 or an errno value;
 * *wp is set only on success.
 */
int	 writer_open(struct writer **wp, const char *path, int rate, int evs);
/*
 * Writes n samples whose first has media timestamp ts (samples since the
 * file's start): silence first if ts is past the end; only the part past
 * the end if some of them are there already; nothing if all are.  0 or
 * an errno value (ENOSPC ...), when the file keeps what was written.
 */
int	 writer_put(struct writer *w, uint64_t ts, const int16_t *pcm, size_t n);
/*
 * An EVS file (writer_open with evs): n storage frames (lens[i] bytes
 * each, one after the other in data), the first at media timestamp ts;
 * frames the file has are skipped, a gap before them is NO_DATA.  0 or
 * an errno value.  writer_put is for WAVs only (EINVAL).
 */
int	 writer_put_frames(struct writer *w, uint64_t ts, const uint8_t *data,
	    const uint32_t *lens, size_t n);
/* Writes silence (EVS: NO_DATA) until the file is upto samples long (nothing if it is). */
int	 writer_fill(struct writer *w, uint64_t upto);
/* The file's length, counting samples gathered but not written yet. */
uint64_t writer_samples(const struct writer *w);
/*
 * Writes what is gathered (the header follows).  0 or an errno value; on
 * a failure what the file did not take is gone from writer_samples too.
 */
int	 writer_flush(struct writer *w);
/* 1 when writer_open reopened a file that was there */
int	 writer_resumed(const struct writer *w);
/* Writes what is gathered and the final header, closes and frees w (NULL is fine).  0 or an errno value. */
int	 writer_close(struct writer *w);
/* strerror, and a text for WRITER_EFORMAT */
const char *writer_strerror(int err);

/* ---------------------------------------------------------------- rec.c */

enum rec_status {
	REC_RECORDING = 0,
	REC_OK,
	REC_FAILED,
	REC_INTERRUPTED		/* recd stopped before the end: a new recd may resume it */
};

/* one stream of a recording: one WAV file */
struct rec_stream {
	char		*name;		/* "caller", "mix", "p3" */
	char		*codec;		/* for the sidecar; "" for a mix */
	char		*path;		/* the WAV (or .evs), absolute */
	int		 evs;		/* an EVS storage file, fed by REC_PAYLOADS */
	struct writer	*w;		/* NULL once closed */
	uint64_t	 samples;	/* the file's length, kept after close */
	uint32_t	 next_seq;	/* the next frame to write, when seq_known */
	int		 seq_known;	/* 0 after (re)opening: the next frame sets it */
	/* what the last REC_ACK said, and whether one is owed */
	uint32_t	 acked_seq;
	uint64_t	 acked_samples;
	int		 resend;	/* the next REC_ACK asks for a resend */
	uint64_t	 resend_at;	/* when one was last asked (loop ms) */
};

/* a stretch of a stream lost for good (REC_GAP) */
struct rec_gap {
	size_t		 stream;
	uint64_t	 ts;		/* samples since the start */
	uint32_t	 ms;
};

/* a recording: open (rd->recs) or finished (rd->recent) */
struct rec {
	struct rec		*next;
	struct rec		*hnext;		/* in rd->bucket, while open */
	char			*id;		/* as mediad names it */
	char			*safe;		/* filesystem-safe, for file names */
	int			 kind;		/* enum proto_rec_kind */
	int			 rate;
	uint64_t		 start_ms, end_ms;	/* UTC; end_ms 0 until stopped */
	char			*base;		/* DIR/YYYY/MM/DD/HHMMSS_<safe> */
	char			*sidecar;	/* base.json */
	struct rec_stream	*streams;
	size_t			 nstreams;
	char			**parts;	/* participants */
	size_t			 nparts;
	struct rec_gap		*gaps;
	size_t			 ngaps;
	enum rec_status		 status;
	char			*reason;	/* why it failed, or NULL */
	char			*stop_reason;	/* REC_STOP's reason, or NULL */
	int			 sidecar_ok;	/* the last sidecar write worked */
	/* the mediad that sent the last message of it: where unasked messages go */
	uint8_t			 owner[256];
	size_t			 owner_len;
	uint64_t		 heard;		/* monotonic ms its mediad last spoke */
	int			 orphaned;	/* closed because its mediad went silent */
	/* counters, for the log */
	uint64_t		 frames, dups, out_of_seq;
};

/* "65418859@192.168.2.159" -> "65418859_192.168.2.159"; malloc'd */
char	*rec_safe_id(const char *id);
/* DIR/YYYY/MM/DD/HHMMSS_<safe> for a start in UTC ms; malloc'd */
char	*rec_base(const char *dir, uint64_t start_ms, const char *safe);
/* Is name a stream name recd takes ("caller", "p12": letters, digits, '-')? */
int	 rec_stream_name_ok(const char *name);

/*
 * REC_START: opens, resumes or extends recording m->rec for the mediad
 * with routing id owner.  0 and *rp: the recording, open (answer a
 * REC_ACK per stream) or failed (answer its REC_DONE); EINVAL for a
 * request that makes no sense.
 */
int	 rec_start(struct recd *rd, const struct proto_rec_start *m, const void *owner,
	    size_t owner_len, struct rec **rp);
/*
 * REC_FRAMES, REC_GAP: 0; ENOENT when no such recording is open (nor
 * finished lately, whose frames are dropped); EINVAL for a stream it does
 * not have or a length that is not whole frames.  A failure to write
 * fails the recording and tells its mediad (ctl_send_done).
 */
int	 rec_frames(struct recd *rd, const struct proto_rec_frames *m, const void *owner,
	    size_t owner_len);
int	 rec_gap(struct recd *rd, const struct proto_rec_gap *m, const void *owner,
	    size_t owner_len);
/* REC_PAYLOADS: as rec_frames, for an EVS stream (EINVAL for a WAV's, or frames that are not whole). */
int	 rec_payloads(struct recd *rd, const struct proto_rec_payloads *m, const void *owner,
	    size_t owner_len);
/*
 * REC_STOP: pads, closes, writes the sidecar; 0 and *rp the finished
 * recording (also for one finished lately), or ENOENT.
 */
int	 rec_stop(struct recd *rd, const struct proto_rec_stop *m, struct rec **rp);
struct rec *rec_find(struct recd *rd, const char *id);
/*
 * Writes what r's files have gathered, so that an ACK says what is on
 * disk.  0, or the error that failed r (retired, mediad told).
 */
int	 rec_sync(struct recd *rd, struct rec *r);
/* The mediad with routing id owner said HELLO: its recordings are alive. */
void	 rec_owner_seen(struct recd *rd, const void *owner, size_t len);
/* Starts the REC_ACK timer. */
void	 rec_init(struct recd *rd);
/* SIGTERM: closes every file (final headers), sidecars say "interrupted". */
void	 rec_shutdown(struct recd *rd);
size_t	 rec_count(const struct recd *rd);
/* for sidecar.c: a stream (its file not opened), a participant, a gap; */
/* a stream or participant r has already is not added again */
void	 rec_stream_add(struct rec *r, const char *name, const char *codec, int evs);
void	 rec_part_add(struct rec *r, const char *who);
void	 rec_gap_add(struct rec *r, size_t stream, uint64_t ts, uint32_t ms);
/* length of a stream in ms */
uint64_t rec_stream_ms(const struct rec *r, size_t i);

/* ---------------------------------------------------------------- sidecar.c */

/*
 * Writes r's sidecar (r->sidecar) whole, through a temporary file and a
 * rename, so that a reader never sees half of it.  0 or an errno value.
 */
int	 sidecar_write(const struct rec *r);
/*
 * Takes from an existing sidecar of r (a recording being resumed) its
 * participants and gaps.  0; ENOENT when there is none; EEXIST when it is
 * another recording's (another id or start); EINVAL when it is not ours
 * to read.
 */
int	 sidecar_load(struct rec *r);
/* "2026-11-20T12:09:29.389Z" for UTC ms; buf at least 32 bytes */
void	 sidecar_utc(uint64_t ms, char *buf, size_t len);

/* ---------------------------------------------------------------- ctl.c */

int	 ctl_open(struct recd *rd);
void	 ctl_close(struct recd *rd);
/* REC_ACK for stream i of r, to its owner, with reqid (0: unasked) */
void	 ctl_send_ack(struct recd *rd, struct rec *r, size_t i, uint32_t reqid);
/* REC_DONE of r, to its owner, with reqid (0: unasked) */
void	 ctl_send_done(struct recd *rd, const struct rec *r, uint32_t reqid);

/* ---------------------------------------------------------------- main.c */

struct recd {
	struct parley_conf	*conf;
	char			*conf_path;	/* absolute, or NULL */
	char			*dir;		/* recording.dir, absolute */
	struct loop		*loop;
	void			*zmq;
	struct zsock_srv	*ctl;		/* NULL: not open (tests) */
	char			 node[256];
	uint64_t		 instance;
	struct rec		*recs;		/* open */
	struct rec		*bucket[RECD_BUCKETS];	/* open, by id: rec_find */
	struct rec		*recent;	/* finished, newest first */
	size_t			 nrecent;
	struct loop_timer	 t_ack;
	uint64_t		 ack_at;	/* monotonic ms of the last ACK tick */
	int16_t			 pcm[PROTO_PCM_MAX / 2];	/* one REC_FRAMES, decoded */
};

#endif
