/*
 * main.c — sipd's entry point.  It only wires things together: options,
 * configuration (with the built-in default's demo users), logging, the
 * event loop, signals, and the start and stop of every subsystem.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include <osipparser2/osip_parser.h>
#include <zmq.h>

#include "config.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/service.h"
#include "common/xmalloc.h"
#include "sipd.h"

#define DEMO_USERS	3
#define DEMO_FILE	LOCALSTATEDIR "/lib/parley/demo-passwords"

/*
 * The built-in default has demo users 1001-1003.  Their passwords are
 * random, made at the first start and kept in DEMO_FILE (0600), so the
 * default never accepts a well-known password, on loopback or elsewhere.
 */
static void
demo_users(struct parley_conf *c)
{
	char pw[DEMO_USERS][17], line[128];
	FILE *f;
	int i, have = 0;

	if ((f = fopen(DEMO_FILE, "r")) != NULL) {
		while (have < DEMO_USERS && fgets(line, sizeof(line), f) != NULL) {
			char name[16], p[17];

			if (sscanf(line, "%15s %16s", name, p) == 2 && strlen(p) == 16)
				memcpy(pw[have++], p, 17);
		}
		fclose(f);
	}
	if (have < DEMO_USERS) {
		mode_t old;

		for (i = 0; i < DEMO_USERS; i++)
			msg_random_token(pw[i], sizeof(pw[i]));
		mkdir(LOCALSTATEDIR "/lib/parley", 0750);
		old = umask(077);
		if ((f = fopen(DEMO_FILE, "w")) != NULL) {
			for (i = 0; i < DEMO_USERS; i++)
				fprintf(f, "%d %s\n", 1001 + i, pw[i]);
			fclose(f);
			log_info("built-in default: demo passwords made and kept in %s", DEMO_FILE);
		} else
			log_warn("built-in default: cannot keep the demo passwords in %s "
			    "(they change at every start)", DEMO_FILE);
		umask(old);
	}
	c->users = xcalloc(DEMO_USERS, sizeof(*c->users));
	c->nusers = DEMO_USERS;
	for (i = 0; i < DEMO_USERS; i++) {
		xasprintf(&c->users[i].name, "%d", 1001 + i);
		c->users[i].password = xstrdup(pw[i]);
		log_info("built-in default: user %s password %s (domain %s)",
		    c->users[i].name, pw[i], c->domain);
	}
}

static void
on_term(int signo, void *arg)
{
	struct sipd *sd = arg;

	log_info("sipd: signal %d, stopping", signo);
	sipd_shutdown(sd);
}

static void
on_hup(int signo, void *arg)
{
	struct sipd *sd = arg;
	struct parley_conf *nc;
	char err[512];

	(void)signo;
	log_info("sipd: SIGHUP: reopening the journal and reloading %s",
	    sd->conf_path ? sd->conf_path : "the built-in default");
	if (journal_reopen(sd->journal) != 0)
		log_warn("sipd: cannot reopen the journal %s", sd->conf->journal_path);
	if (sd->conf_path == NULL)
		return;
	if (conf_load(sd->conf_path, &nc, err, sizeof(err)) != 0) {
		log_warnx("sipd: reload refused, keeping the running configuration: %s", err);
		return;
	}
	/* listen addresses, journal and control endpoints need a restart */
	conf_free(sd->conf);
	sd->conf = nc;
	log_set_level(nc->log_level);
	if (auth_reload(sd) != 0)
		log_warnx("sipd: reload: users not reloaded, the old ones stay");
}

static struct loop_timer stop_timer;

static void
stop_cb(void *arg)
{
	struct sipd *sd = arg;

	loop_stop(sd->loop);
}

static void
hangup_visit(const struct call *c, void *arg)
{
	char ***ids = arg;
	size_t n = 0;

	if (c->state != CALL_ANSWERED)
		return;
	while ((*ids)[n] != NULL)
		n++;
	*ids = xrealloc(*ids, (n + 2) * sizeof(char *));
	(*ids)[n] = xstrdup(c->call_id);
	(*ids)[n + 1] = NULL;
}

void
sipd_shutdown(struct sipd *sd)
{
	char **ids = xcalloc(1, sizeof(char *));
	size_t i;

	if (sd->stopping)
		return;
	sd->stopping = 1;
	/* end every answered call with BYEs, then give them a moment to leave */
	call_foreach(sd, hangup_visit, &ids);
	for (i = 0; ids[i] != NULL; i++) {
		call_hangup(sd, ids[i]);
		free(ids[i]);
	}
	free(ids);
	i += room_end_all(sd);
	loop_timer_init(&stop_timer, stop_cb, sd);
	loop_timer_start(sd->loop, &stop_timer, i > 0 ? 300 : 0);
}

int
main(int argc, char **argv)
{
	struct sipd sd;
	struct conf_main_opts opts;
	int err, rc;

	if ((rc = conf_main("sipd", argc, argv, &opts)) >= 0)
		return rc;
	memset(&sd, 0, sizeof(sd));
	sd.conf = opts.conf;
	/* daemon() changes to /: relative paths must be resolved now, for SIGHUP too */
	sd.conf_path = sd.conf->path ? conf_abspath(sd.conf->path) : NULL;
	if (sd.conf->journal_path[0] != '/') {
		char *j = conf_abspath(sd.conf->journal_path);

		free(sd.conf->journal_path);
		sd.conf->journal_path = j;
	}
	log_init("sipd", opts.foreground, opts.debug ? LOG_LVL_DEBUG : sd.conf->log_level);
	if (sd.conf->builtin)
		demo_users(sd.conf);
	service_start("sipd", &opts);

	signal(SIGPIPE, SIG_IGN);
	parser_init();
	sd.server_name = "Parley/" PACKAGE_VERSION;
	sd.started = time(NULL);
	if ((err = loop_alloc(&sd.loop)) != 0) {
		errno = err;
		fatal("event loop");
	}
	sd.started_ms = loop_now(sd.loop);
	if ((err = journal_open(&sd.journal, sd.conf->journal_path, sd.conf->journal_json)) != 0) {
		errno = err;
		fatal("cannot open the journal %s", sd.conf->journal_path);
	}
	if (txn_init(&sd) || auth_init(&sd) || reg_init(&sd) || call_init(&sd) || proxy_init(&sd) ||
	    room_init(&sd) || recording_init(&sd))
		fatalx("cannot start the SIP core");
	if (tp_open(&sd) != 0)
		fatalx("cannot open the SIP transports");
	if ((err = ctl_open(&sd)) != 0) {
		errno = err;
		fatal("cannot open the control socket %s", sd.conf->ctl_sipctl);
	}
	if ((err = node_open(&sd)) != 0) {
		errno = err;
		fatal("cannot reach the mediad endpoints");
	}
	if (service_signals(sd.loop, on_term, on_hup, &sd) != 0)
		fatal("signals");
	service_ready();
	log_info("sipd %s ready: domain %s, %zu users, auth %s, journal %s", PACKAGE_VERSION,
	    sd.conf->domain, sd.conf->nusers, sd.conf->auth ? "on" : "OFF",
	    sd.conf->journal_path);

	if ((err = loop_run(sd.loop)) != 0) {
		errno = err;
		log_warn("event loop");
	}

	ctl_close(&sd);
	node_close(&sd);	/* pending answers: their callbacks come now, with ECANCELED */
	sd.stopping_hard = 1;
	proxy_shutdown(&sd);
	room_shutdown(&sd);
	call_shutdown(&sd);
	recording_shutdown(&sd);
	reg_shutdown(&sd);
	txn_shutdown(&sd);
	tp_close(&sd);
	auth_shutdown(&sd);
	journal_close(sd.journal);
	if (sd.zmq != NULL)
		zmq_ctx_term(sd.zmq);
	loop_free(sd.loop);
	conf_free(sd.conf);
	free(sd.conf_path);
	log_info("sipd stopped");
	return 0;
}
