/*
 * recording.c — what sipd records and what became of it (issue 5).
 *
 * sipd decides: a 1:1 call by conf_record_call (users[].record,
 * recording.calls; such a call is relayed, see proxy.c), every room when
 * recording.rooms is on.  It asks the call's or room's mediad node with
 * RECORD once: a call when the 2xx to its INVITE has gone up with its SDP
 * anchored (so mediad has the formats of both legs), a room when its
 * first participant got its 200.  mediad decodes, feeds recd, and tells
 * sipd what happens with REC_EVENT: started (files), gap, done, failed.
 *
 * Here each recording is kept by recd's id of it (rec): the open ones,
 * and the last RECORDING_KEEP finished ones for sipctl recordings.  The
 * journal gets rec-start, rec-gap and rec-done, one rec-done per
 * recording: when a node is lost, its open recordings are done at once
 * (failed, "mediad lost"), and what that node may still say of them later
 * is ignored.  A call's or room's `recording` flag says it is being
 * recorded: asked, not refused, not finished.
 *
 * Not here: the wire (node.c), the policy's rule (common/conf.c), files
 * (recd).  Events sipd cannot place (sipd restarted meanwhile) are still
 * journaled, as a recording sipd first hears of then.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "sipd.h"

struct recording_table {
	struct recording	*open;		/* oldest first */
	struct recording	*done;		/* finished, oldest first */
	size_t			 ndone;
};

int
recording_init(struct sipd *sd)
{
	sd->recs = xcalloc(1, sizeof(*sd->recs));
	return 0;
}

static void
recording_free(struct recording *r)
{
	size_t i;

	for (i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->rec);
	free(r->target);
	free(r->sidecar);
	free(r->reason);
	free(r);
}

static void
recording_free_list(struct recording *r)
{
	struct recording *next;

	for (; r != NULL; r = next) {
		next = r->next;
		recording_free(r);
	}
}

void
recording_shutdown(struct sipd *sd)
{
	if (sd->recs == NULL)
		return;
	recording_free_list(sd->recs->open);
	recording_free_list(sd->recs->done);
	free(sd->recs);
	sd->recs = NULL;
}

const char *
recording_state_name(int state)
{
	switch (state) {
	case PROTO_RECST_DONE: return "done";
	case PROTO_RECST_FAILED: return "failed";
	default: return "recording";
	}
}

static uint64_t
recording_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ asking mediad */

/* what a RECORD was for, to find it again when mediad refuses it */
struct recording_ask {
	int	 kind;
	char	 target[];
};

/* The call or room target is (no longer) being recorded. */
static void
recording_flag(struct sipd *sd, int kind, const char *target, int on)
{
	struct call *c;
	struct sroom *r;

	if (kind == PROTO_REC_CALL && (c = call_find(sd, target)) != NULL)
		c->recording = on;
	else if (kind == PROTO_REC_ROOM && (r = room_get(sd, target)) != NULL)
		r->recording = on;
}

static void
recording_on_refused(struct sipd *sd, const struct proto_msg *m, int err, void *arg)
{
	struct recording_ask *a = arg;

	if (err != 0 && err != ECANCELED) {	/* ECANCELED: sipd is stopping */
		log_warnx("recording: %s %s: mediad did not take the RECORD: %s",
		    a->kind == PROTO_REC_CALL ? "call" : "room", a->target,
		    m != NULL && m->type == PROTO_ERROR ? m->u.error.text : strerror(err));
		recording_flag(sd, a->kind, a->target, 0);
	}
	free(a);
}

/* RECORD of target to node; 0 or an errno value. */
static int
recording_ask(struct sipd *sd, int node, int kind, const char *target, size_t nparts,
    const char *const *parts)
{
	struct proto_msg pm;
	struct recording_ask *a;
	size_t len = strlen(target);
	int err;

	memset(&pm, 0, sizeof(pm));
	pm.type = PROTO_RECORD;
	pm.u.record.kind = (uint32_t)kind;
	pm.u.record.target = (char *)target;
	pm.u.record.legs = (uint32_t)(sd->conf->rec_legs != 0);
	pm.u.record.mix = (uint32_t)(sd->conf->rec_mix != 0);
	pm.u.record.participants.n = nparts;
	pm.u.record.participants.v = (char **)parts;
	a = xmalloc(sizeof(*a) + len + 1);
	a->kind = kind;
	memcpy(a->target, target, len + 1);
	if ((err = node_post(sd, node, &pm, recording_on_refused, a)) != 0) {
		log_warnx("recording: %s %s: RECORD not sent: %s",
		    kind == PROTO_REC_CALL ? "call" : "room", target, strerror(err));
		free(a);
		return err;
	}
	log_info("recording: %s %s: asked mediad to record it (legs %d, mix %d)",
	    kind == PROTO_REC_CALL ? "call" : "room", target, sd->conf->rec_legs,
	    sd->conf->rec_mix);
	return 0;
}

void
recording_call_answered(struct sipd *sd, struct call *c)
{
	const char *parts[2];
	char *caller;

	if (!c->record || c->rec_asked || c->state != CALL_ANSWERED)
		return;
	c->rec_asked = 1;
	if (!c->relay || c->node < 0 || !c->updates_sent) {
		log_warnx("recording: call %s: not relayed by a mediad: not recorded", c->call_id);
		return;
	}
	caller = xstrdup(call_leg_user(&c->caller));
	parts[0] = caller;
	parts[1] = call_leg_user(&c->callee);
	if (recording_ask(sd, c->node, PROTO_REC_CALL, c->call_id, 2, parts) == 0)
		c->recording = 1;
	free(caller);
}

void
recording_room_created(struct sipd *sd, struct sroom *r)
{
	if (!conf_record_rooms(sd->conf) || r->rec_asked)
		return;
	r->rec_asked = 1;
	if (recording_ask(sd, r->node, PROTO_REC_ROOM, r->name, 0, NULL) == 0)
		r->recording = 1;
}

/* ------------------------------------------------------------ what mediad tells */

/* The last recording of list with id rec, or NULL. */
static struct recording *
recording_find(struct recording *list, const char *rec)
{
	struct recording *found = NULL;

	for (; list != NULL; list = list->next)
		if (strcmp(list->rec, rec) == 0)
			found = list;
	return found;
}

static uint64_t
recording_instance(struct sipd *sd, int node)
{
	const struct node_info *ni = node_info(sd, node);

	return ni != NULL ? ni->instance : 0;
}

/* A new open recording, last of the list. */
static struct recording *
recording_new(struct sipd *sd, int node, const struct proto_rec_event *ev)
{
	struct recording *r = xcalloc(1, sizeof(*r)), **pp;

	r->rec = xstrdup(ev->rec);
	r->kind = (int)ev->kind;
	r->target = xstrdup(ev->target);
	r->node = node;
	r->instance = recording_instance(sd, node);
	r->state = PROTO_RECST_STARTED;
	r->started = recording_now();
	r->sidecar = xstrdup("");
	for (pp = &sd->recs->open; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = r;
	return r;
}

/* r's files become files (when mediad names any). */
static void
recording_set_files(struct recording *r, const struct proto_strv *files)
{
	size_t i;

	if (files->n == 0)
		return;
	for (i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	r->files = xcalloc(files->n, sizeof(*r->files));
	for (i = 0; i < files->n; i++)
		r->files[i] = xstrdup(files->v[i]);
	r->nfiles = files->n;
}

/* "a.wav,b.wav" (malloc'd) */
static char *
recording_files_str(const struct recording *r)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < r->nfiles; i++)
		len += strlen(r->files[i]) + 1;
	s = xmalloc(len);
	s[0] = '\0';
	for (i = 0; i < r->nfiles; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, r->files[i]);
	}
	return s;
}

static void
recording_journal_start(struct sipd *sd, const struct recording *r)
{
	char *files = recording_files_str(r);

	journal_write(sd->journal, "rec-start",
	    "call", r->kind == PROTO_REC_CALL ? r->target : NULL,
	    "room", r->kind == PROTO_REC_ROOM ? r->target : NULL,
	    "rec", r->rec, "files", files, (char *)NULL);
	free(files);
}

/*
 * r is finished (its state, files, ms, sidecar and reason set): rec-done,
 * off the open list onto the finished one, its target no longer recording.
 */
static void
recording_finish(struct sipd *sd, struct recording *r)
{
	struct recording_table *t = sd->recs;
	struct recording **pp, *old;
	char *files = recording_files_str(r), secs[32];
	int ok = r->state == PROTO_RECST_DONE;

	snprintf(secs, sizeof(secs), "%" PRIu64 ".%03" PRIu64, r->ms / 1000, r->ms % 1000);
	journal_write(sd->journal, "rec-done",
	    "call", r->kind == PROTO_REC_CALL ? r->target : NULL,
	    "room", r->kind == PROTO_REC_ROOM ? r->target : NULL, "rec", r->rec,
	    "status", ok ? "ok" : "failed", "reason", !ok ? r->reason : NULL, "files", files,
	    "seconds", secs, "sidecar", r->sidecar[0] != '\0' ? r->sidecar : NULL, (char *)NULL);
	free(files);
	log_info("recording %s: %s%s%s", r->rec, ok ? "done" : "failed", ok ? "" : ": ",
	    ok ? "" : r->reason);
	recording_flag(sd, r->kind, r->target, 0);
	for (pp = &t->open; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->next = NULL;
	for (pp = &t->done; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = r;
	if (++t->ndone > RECORDING_KEEP) {
		old = t->done;
		t->done = old->next;
		recording_free(old);
		t->ndone--;
	}
}

void
recording_event(struct sipd *sd, int node, const struct proto_rec_event *ev)
{
	struct recording *r = recording_find(sd->recs->open, ev->rec), *old;
	uint64_t inst = recording_instance(sd, node);
	char ms[24];
	size_t i;

	/*
	 * Finished here already: one rec-done is all.  A start is a new
	 * recording of the same id (a room's again), unless it comes from the
	 * very mediad that was taken for lost while recording it.
	 */
	if (r == NULL && (old = recording_find(sd->recs->done, ev->rec)) != NULL &&
	    (ev->state != PROTO_RECST_STARTED ||
	    (old->lost && old->node == node && old->instance == inst))) {
		static const char *const what[] = { "start", "gap", "done", "failure" };

		log_info("recording %s: its %s from mediad after its end: ignored", ev->rec,
		    what[ev->state & 3]);
		return;
	}
	if (r == NULL) {
		r = recording_new(sd, node, ev);
		if (ev->state == PROTO_RECST_STARTED) {
			recording_set_files(r, &ev->files);
			recording_journal_start(sd, r);
			log_info("recording %s: started (%s %s, %zu file(s))", r->rec,
			    r->kind == PROTO_REC_CALL ? "call" : "room", r->target, r->nfiles);
			return;
		}
	}
	r->node = node;
	r->instance = inst;
	switch (ev->state) {
	case PROTO_RECST_STARTED:
		/* again (recd restarted and reopened the files): nothing new to journal */
		recording_set_files(r, &ev->files);
		break;
	case PROTO_RECST_GAP:
		snprintf(ms, sizeof(ms), "%" PRIu32, ev->gap_ms);
		log_warnx("recording %s: %s ms of %s lost while recd was away", r->rec, ms,
		    ev->stream);
		journal_write(sd->journal, "rec-gap",
		    "call", r->kind == PROTO_REC_CALL ? r->target : NULL,
		    "room", r->kind == PROTO_REC_ROOM ? r->target : NULL, "rec", r->rec,
		    "stream", ev->stream, "ms", ms, (char *)NULL);
		break;
	case PROTO_RECST_DONE:
	case PROTO_RECST_FAILED:
		r->state = (int)ev->state;
		recording_set_files(r, &ev->files);
		r->ms = 0;
		for (i = 0; i < ev->ms.n; i++)
			if (ev->ms.v[i] > r->ms)
				r->ms = ev->ms.v[i];
		free(r->sidecar);
		r->sidecar = xstrdup(ev->sidecar);
		free(r->reason);
		r->reason = xstrdup(ev->state == PROTO_RECST_FAILED && ev->reason[0] == '\0' ?
		    "unknown" : ev->reason);
		recording_finish(sd, r);
		break;
	}
}

void
recording_media_lost(struct sipd *sd, int node)
{
	struct recording *r, *next;
	uint64_t now = recording_now();

	for (r = sd->recs->open; r != NULL; r = next) {
		next = r->next;
		if (r->node != node)
			continue;
		/* what recd holds is at most what it got until now */
		r->state = PROTO_RECST_FAILED;
		r->lost = 1;
		r->ms = now > r->started ? now - r->started : 0;
		free(r->reason);
		r->reason = xstrdup("mediad lost");
		recording_finish(sd, r);
	}
}

void
recording_foreach(struct sipd *sd, recording_visit_cb cb, void *arg)
{
	const struct recording *r;

	for (r = sd->recs->open; r != NULL; r = r->next)
		cb(r, arg);
	for (r = sd->recs->done; r != NULL; r = r->next)
		cb(r, arg);
}
