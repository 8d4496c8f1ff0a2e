/*
 * sidecar.c — the JSON file beside a recording's WAVs
 * (YYYY/MM/DD/<HHMMSS>_<id>.json): what was recorded, who took part, the
 * codecs, start and end, every file with its length, the gaps, and how
 * it ended.  Written whole (a temporary file renamed over the old one)
 * at the start, on a gap, at the end and on a failure; read back when a
 * restarted recd resumes a recording.
 *
 *   { "id": "65418859@192.168.2.159", "kind": "call", "rate": 8000,
 *     "start": "2026-11-20T12:09:29.389Z", "start_ms": 1795176569389,
 *     "end": "2026-11-20T12:09:39.401Z", "end_ms": 1795176579401,
 *     "status": "ok",          recording, ok, failed, interrupted
 *     "reason": "...",         when failed
 *     "stop_reason": "hangup", once stopped
 *     "participants": [ "1001", "1002" ],
 *     "files": [ { "stream": "caller", "file": "120929_..._caller.wav",
 *                  "codec": "PCMA", "format": "wav", "seconds": 10.012,
 *                  "samples": 80096 } ],
 *     "gaps": [ { "stream": "caller", "at": 3.02, "ts": 24160, "ms": 1000 } ] }
 *
 * File names are relative to the sidecar's directory.  Knows nothing of
 * sockets or of how the WAVs are written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/xmalloc.h"
#include "recd.h"

static const char *const sidecar_status[] = {
	[REC_RECORDING] = "recording",
	[REC_OK] = "ok",
	[REC_FAILED] = "failed",
	[REC_INTERRUPTED] = "interrupted",
};

void
sidecar_utc(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* A time as a string and as ms, or two nulls for 0 (not yet). */
static void
sidecar_time(json_t *o, const char *key, uint64_t ms)
{
	char buf[32], mskey[32];

	snprintf(mskey, sizeof(mskey), "%s_ms", key);
	if (ms == 0) {
		json_object_set_new(o, key, json_null());
		json_object_set_new(o, mskey, json_null());
		return;
	}
	sidecar_utc(ms, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
	json_object_set_new(o, mskey, json_integer((json_int_t)ms));
}

static const char *
sidecar_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static json_t *
sidecar_json(const struct rec *r)
{
	json_t *o = json_object(), *a, *f;
	size_t i;

	json_object_set_new(o, "id", json_string(r->id));
	json_object_set_new(o, "kind", json_string(r->kind == PROTO_REC_ROOM ? "room" : "call"));
	json_object_set_new(o, "rate", json_integer(r->rate));
	sidecar_time(o, "start", r->start_ms);
	sidecar_time(o, "end", r->end_ms);
	json_object_set_new(o, "status", json_string(sidecar_status[r->status]));
	if (r->reason != NULL)
		json_object_set_new(o, "reason", json_string(r->reason));
	if (r->stop_reason != NULL)
		json_object_set_new(o, "stop_reason", json_string(r->stop_reason));
	a = json_array();
	for (i = 0; i < r->nparts; i++)
		json_array_append_new(a, json_string(r->parts[i]));
	json_object_set_new(o, "participants", a);
	a = json_array();
	for (i = 0; i < r->nstreams; i++) {
		const struct rec_stream *s = &r->streams[i];
		uint64_t n = s->w != NULL ? writer_samples(s->w) : s->samples;

		f = json_object();
		json_object_set_new(f, "stream", json_string(s->name));
		json_object_set_new(f, "file", json_string(sidecar_base(s->path)));
		json_object_set_new(f, "codec", json_string(s->codec));
		/* "wav": 16-bit PCM; "evs": the phone's EVS frames, MIME storage format */
		json_object_set_new(f, "format", json_string(s->evs ? "evs" : "wav"));
		json_object_set_new(f, "seconds", json_real((double)n / r->rate));
		json_object_set_new(f, "samples", json_integer((json_int_t)n));
		json_array_append_new(a, f);
	}
	json_object_set_new(o, "files", a);
	a = json_array();
	for (i = 0; i < r->ngaps; i++) {
		const struct rec_gap *g = &r->gaps[i];

		f = json_object();
		json_object_set_new(f, "stream", json_string(r->streams[g->stream].name));
		json_object_set_new(f, "at", json_real((double)g->ts / r->rate));
		json_object_set_new(f, "ts", json_integer((json_int_t)g->ts));
		json_object_set_new(f, "ms", json_integer(g->ms));
		json_array_append_new(a, f);
	}
	json_object_set_new(o, "gaps", a);
	return o;
}

/* Writes len bytes of text to path (flags: how to open it).  0 or an errno value. */
static int
sidecar_put(const char *path, int flags, const char *text, size_t len)
{
	size_t off;
	ssize_t n;
	int fd, err = 0;

	/* our own write(2)s: a full disk must say ENOSPC, not fail vaguely */
	if ((fd = open(path, flags | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0)
		return errno;
	for (off = 0; off < len; off += (size_t)n)
		if ((n = write(fd, text + off, len - off)) < 0) {
			err = errno;
			break;
		}
	if (close(fd) != 0 && err == 0)
		err = errno;
	return err;
}

int
sidecar_write(const struct rec *r)
{
	json_t *o = sidecar_json(r);
	char *text, *tmp;
	size_t len;
	int err;

	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (text == NULL)
		return ENOMEM;
	len = strlen(text);
	text[len++] = '\n';	/* over the NUL: the buffer is not used as a string again */
	xasprintf(&tmp, "%s.tmp", r->sidecar);
	if ((err = sidecar_put(tmp, O_CREAT | O_TRUNC, text, len)) == 0 &&
	    rename(tmp, r->sidecar) != 0)
		err = errno;
	if (err != 0)
		(void)unlink(tmp);
	/*
	 * A full disk has no room for a second copy, but the old one's room
	 * is enough for the new one (that says why the recording failed):
	 * write over it.  A reader may catch it half written; better than a
	 * sidecar that says "recording" for ever.
	 */
	if ((err == ENOSPC || err == EDQUOT) && access(r->sidecar, F_OK) == 0)
		err = sidecar_put(r->sidecar, O_TRUNC, text, len);
	free(tmp);
	free(text);
	return err;
}

int
sidecar_load(struct rec *r)
{
	json_t *o, *a, *f, *v, *name;
	json_error_t jerr;
	struct stat st;
	size_t i, k;
	int err = 0;

	if (stat(r->sidecar, &st) != 0)
		return ENOENT;		/* none, or not even its directory */
	if ((o = json_load_file(r->sidecar, 0, &jerr)) == NULL || !json_is_object(o)) {
		json_decref(o);
		return EINVAL;
	}
	if (!json_is_string(v = json_object_get(o, "id")) || strcmp(json_string_value(v), r->id) != 0 ||
	    !json_is_integer(v = json_object_get(o, "start_ms")) ||
	    (uint64_t)json_integer_value(v) != r->start_ms) {
		err = EEXIST;
		goto out;
	}
	json_array_foreach(json_object_get(o, "participants"), i, v)
		if (json_is_string(v))
			rec_part_add(r, json_string_value(v));
	json_array_foreach(json_object_get(o, "files"), i, v) {
		name = json_object_get(v, "stream");
		if (!json_is_string(name) || !rec_stream_name_ok(json_string_value(name)))
			continue;
		a = json_object_get(v, "codec");
		f = json_object_get(v, "format");
		rec_stream_add(r, json_string_value(name), json_is_string(a) ? json_string_value(a) : "",
		    json_is_string(f) && strcmp(json_string_value(f), "evs") == 0);
	}
	json_array_foreach(json_object_get(o, "gaps"), i, v) {
		name = json_object_get(v, "stream");
		if (!json_is_string(name))
			continue;
		for (k = 0; k < r->nstreams; k++)
			if (strcmp(r->streams[k].name, json_string_value(name)) == 0)
				break;
		if (k == r->nstreams || !json_is_integer(json_object_get(v, "ts")) ||
		    !json_is_integer(json_object_get(v, "ms")))
			continue;
		rec_gap_add(r, k, (uint64_t)json_integer_value(json_object_get(v, "ts")),
		    (uint32_t)json_integer_value(json_object_get(v, "ms")));
	}
out:
	json_decref(o);
	return err;
}
