/*
 * main.c — mediad's entry point.  It only wires things together: options,
 * configuration, logging, the event loop, signals, the port pool, the
 * control socket, in-kernel forwarding (before privileges go), and the CPU
 * load figure it reports to sipd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/service.h"
#include "mediad.h"

static void
on_term(int signo, void *arg)
{
	struct mediad *md = arg;

	log_info("mediad: signal %d, stopping", signo);
	loop_stop(md->loop);
}

/* SIGHUP: the log level from the file again; ports, endpoints and bind need a restart */
static void
on_hup(int signo, void *arg)
{
	struct mediad *md = arg;
	struct parley_conf *nc;
	char err[512];

	(void)signo;
	if (md->conf_path == NULL)
		return;
	if (conf_load(md->conf_path, &nc, err, sizeof(err)) != 0) {
		log_warnx("mediad: reload refused: %s", err);
		return;
	}
	log_set_level(nc->log_level);
	md->conf->rtp_timeout = nc->rtp_timeout;
	log_info("mediad: SIGHUP: log level and rtp_timeout (%d s) reloaded", nc->rtp_timeout);
	conf_free(nc);
}

static struct loop_timer load_timer;
static uint64_t load_cpu_us, load_at_ms;

/* CPU used in the last second, per mille of one core: the load sipd balances on. */
static void
load_cb(void *arg)
{
	struct mediad *md = arg;
	struct rusage ru;
	uint64_t cpu, now = loop_now(md->loop);

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		cpu = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
		    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
		if (load_at_ms != 0 && now > load_at_ms)
			md->load = (uint32_t)((cpu - load_cpu_us) / (now - load_at_ms));
		load_cpu_us = cpu;
		load_at_ms = now;
	}
	loop_timer_start(md->loop, &load_timer, 1000);
}

/* The address written in SDP: media.advertise, else a bind address that is not a wildcard. */
static const char *
advertised(const struct parley_conf *c)
{
	unsigned char a[16];

	if (c->media_advertise[0] != '\0')
		return c->media_advertise;
	if ((inet_pton(AF_INET, c->media_bind, a) == 1 && memcmp(a, "\0\0\0\0", 4) == 0) ||
	    (inet_pton(AF_INET6, c->media_bind, a) == 1 &&
	    memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0))
		return "";
	return c->media_bind;
}

int
main(int argc, char **argv)
{
	struct mediad md;
	struct conf_main_opts opts;
	int err, rc;

	if ((rc = conf_main("mediad", argc, argv, &opts)) >= 0)
		return rc;
	memset(&md, 0, sizeof(md));
	md.conf = opts.conf;
	md.conf_path = md.conf->path ? conf_abspath(md.conf->path) : NULL;
	log_init("mediad", opts.foreground, opts.debug ? LOG_LVL_DEBUG : md.conf->log_level);
	service_start("mediad", &opts);
	signal(SIGPIPE, SIG_IGN);

	if (md.conf->media_node[0] != '\0')
		snprintf(md.node, sizeof(md.node), "%s", md.conf->media_node);
	else if (gethostname(md.node, sizeof(md.node) - 1) != 0)
		snprintf(md.node, sizeof(md.node), "mediad");
	if (getrandom(&md.instance, sizeof(md.instance), 0) != sizeof(md.instance))
		fatal("getrandom");
	md.advertise = advertised(md.conf);

	if ((err = loop_alloc(&md.loop)) != 0) {
		errno = err;
		fatal("event loop");
	}
	if ((err = ports_alloc_pool(&md.ports, md.conf->media_bind, md.conf->rtp_port_min,
	    md.conf->rtp_port_max)) != 0)
		fatalx("media.bind %s: not an address mediad can use", md.conf->media_bind);
	{
		/* an address that is not this host's would fail every call later: say so now */
		int fd, r, p;
		uint16_t port;

		if ((r = ports_get(md.ports, &fd, &p, &port)) == 0)
			ports_put(md.ports, fd, p, port);
		else
			fatalx("media.bind %s: cannot bind any port of %d-%d (not an address of this "
			    "host, or every port taken)", md.conf->media_bind, md.conf->rtp_port_min,
			    md.conf->rtp_port_max);
	}
	if ((md.zmq = zmq_ctx_new()) == NULL)
		fatal("ZeroMQ");
	if (relay_init(&md) != 0 || session_init(&md) != 0 || room_init(&md) != 0 ||
	    tap_init(&md) != 0)
		fatalx("cannot start the relay");
	/* recd need not be up: ZeroMQ connects when it comes */
	if (recout_init(&md) != 0)
		fatalx("control.recorder %s: not an endpoint", md.conf->ctl_recorder);
	if ((err = ctl_open(&md)) != 0) {
		errno = err;
		fatal("cannot open the control socket %s", md.conf->ctl_media[0]);
	}
	if (service_signals(md.loop, on_term, on_hup, &md) != 0)
		fatal("signals");
	/* while mediad may still load and attach a BPF program: then it keeps none of that */
	(void)kfwd_open(&md);
	service_ready();
	service_caps_clear();
	(void)kfwd_check(&md);
	loop_timer_init(&load_timer, load_cb, &md);
	load_cb(&md);
	log_info("mediad %s ready: node %s, RTP on %s ports %d-%d (%u pairs), SDP address %s",
	    PACKAGE_VERSION, md.node, md.conf->media_bind, md.conf->rtp_port_min,
	    md.conf->rtp_port_max, ports_capacity(md.ports),
	    md.advertise[0] ? md.advertise : "sipd's own");

	if ((err = loop_run(md.loop)) != 0) {
		errno = err;
		log_warn("event loop");
	}

	log_info("mediad: ending %zu session(s) and %zu room(s)", session_count(&md),
	    room_count(&md));
	loop_timer_stop(md.loop, &load_timer);
	room_shutdown(&md);
	session_shutdown(&md);
	tap_shutdown(&md);
	recout_shutdown(&md, 2000);	/* what recd can take, and its REC_DONEs */
	ctl_close(&md);
	kfwd_close(&md);
	relay_shutdown(&md);
	ports_free_pool(md.ports);
	zmq_ctx_term(md.zmq);
	loop_free(md.loop);
	conf_free(md.conf);
	free(md.conf_path);
	log_info("mediad stopped");
	return 0;
}
