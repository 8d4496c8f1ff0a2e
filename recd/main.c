/*
 * main.c — recd's entry point.  It only wires things together: options,
 * configuration, logging, the recordings directory, the event loop,
 * signals, privileges and the control socket.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/service.h"
#include "common/xmalloc.h"
#include "recd.h"

static void
on_term(int signo, void *arg)
{
	struct recd *rd = arg;

	log_info("recd: signal %d, stopping", signo);
	loop_stop(rd->loop);
}

/* Creates recording.dir if it is missing (before root is dropped: then it is ours). */
static void
make_dir(const char *dir)
{
	char *dot;

	xasprintf(&dot, "%s/.", dir);
	if (service_mkparents(dot) != 0)
		log_warnx("recording.dir %s cannot be made: recordings will fail until it can",
		    dir);
	free(dot);
}

/* Warns when the user recd runs as cannot write dir: every recording would fail. */
static void
check_dir(const char *dir)
{
	if (access(dir, W_OK | X_OK) != 0)
		log_warn("recording.dir %s is not writable: recordings will fail until it is",
		    dir);
}

/*
 * SIGHUP: log.level and recording.dir (for recordings that start from now
 * on) from the file again; recd's messages go to syslog or stderr, which
 * need no reopening.  The endpoint needs a restart.
 */
static void
on_hup(int signo, void *arg)
{
	struct recd *rd = arg;
	struct parley_conf *nc;
	char err[512];

	(void)signo;
	if (rd->conf_path == NULL)
		return;
	if (conf_load(rd->conf_path, &nc, err, sizeof(err)) != 0) {
		log_warnx("recd: reload refused: %s", err);
		return;
	}
	log_set_level(nc->log_level);
	free(rd->dir);
	rd->dir = conf_abspath(nc->rec_dir);
	make_dir(rd->dir);
	check_dir(rd->dir);
	log_info("recd: SIGHUP: log level and recording.dir (%s) reloaded", rd->dir);
	conf_free(nc);
}

int
main(int argc, char **argv)
{
	struct recd rd;
	struct conf_main_opts opts;
	int err, rc;

	if ((rc = conf_main("recd", argc, argv, &opts)) >= 0)
		return rc;
	memset(&rd, 0, sizeof(rd));
	rd.conf = opts.conf;
	rd.conf_path = rd.conf->path ? conf_abspath(rd.conf->path) : NULL;
	rd.dir = conf_abspath(rd.conf->rec_dir);	/* before service_start goes to / */
	log_init("recd", opts.foreground, opts.debug ? LOG_LVL_DEBUG : rd.conf->log_level);
	service_start("recd", &opts);
	signal(SIGPIPE, SIG_IGN);

	if (gethostname(rd.node, sizeof(rd.node) - 1) != 0)
		snprintf(rd.node, sizeof(rd.node), "recd");
	if (getrandom(&rd.instance, sizeof(rd.instance), 0) != sizeof(rd.instance))
		fatal("getrandom");
	if ((err = loop_alloc(&rd.loop)) != 0) {
		errno = err;
		fatal("event loop");
	}
	if ((rd.zmq = zmq_ctx_new()) == NULL)
		fatal("ZeroMQ");
	make_dir(rd.dir);
	if ((err = ctl_open(&rd)) != 0) {
		errno = err;
		fatal("cannot open the control socket %s", rd.conf->ctl_recorder);
	}
	rec_init(&rd);
	if (service_signals(rd.loop, on_term, on_hup, &rd) != 0)
		fatal("signals");
	service_ready();
	check_dir(rd.dir);
	log_info("recd %s ready: recordings in %s", PACKAGE_VERSION, rd.dir);

	if ((err = loop_run(rd.loop)) != 0) {
		errno = err;
		log_warn("event loop");
	}

	log_info("recd: closing %zu recording(s)", rec_count(&rd));
	ctl_close(&rd);
	rec_shutdown(&rd);
	zmq_ctx_term(rd.zmq);
	loop_free(rd.loop);
	conf_free(rd.conf);
	free(rd.conf_path);
	free(rd.dir);
	log_info("recd stopped");
	return 0;
}
