/*
 * kfwd.c — in-kernel forwarding of relayed RTP: mediad loads its tc
 * program (kfwd.bpf.c, embedded as kfwd_obj) at start, while it still
 * may, attaches it to the ingress of its interfaces, and from then on only
 * fills and empties the program's map:
 *   - a stream's two RTP legs go into the kernel together, once both
 *     phones are latched (kfwd_consider, from relay.c) and the call is
 *     neither recorded nor a room's; RTCP always stays in userspace;
 *   - they come out (kfwd_drop) when a latch is released or moves
 *     (re-INVITE, NAT rebinding), when a recording starts, when the
 *     session ends; a packet the program does not take reaches mediad's
 *     socket as before, so userspace re-latches and puts them back;
 *   - every second (session.c's tick) the figures the program kept are
 *     folded into the leg (kfwd_sync): packets, bytes, the last packet's
 *     time for RTP timeouts and NAT re-latching, sequence and jitter;
 *   - mediad beats once a second (kfwd_beat): the program forwards only
 *     while the beat is fresh, so a killed mediad does not leave calls
 *     flowing behind sipd's back.
 * What it needs: a kernel with tc BPF and bpf_redirect_neigh (Linux 5.10),
 * CAP_BPF and CAP_NET_ADMIN (or root) at start only — map updates through
 * the descriptors it already holds need none — and media.kernel (default
 * true).  Anything missing: a log line, and the userspace relay does all.
 * IPv4 only; IPv6 legs stay in userspace.
 *
 * The program is attached with handle 1 and priority media.rtp_ports'
 * first port, which nodes on one host never share; a restarted mediad
 * replaces its predecessor's filter (two nodes bound to different
 * addresses with the same first port would replace each other's: give
 * them different ranges).  Detaching it needs CAP_NET_ADMIN,
 * which the serving mediad no longer has: a keeper process, forked at
 * start, holds that one capability and nothing else (no descriptor but a
 * pipe from mediad, no input), and removes the filters when the pipe
 * closes — when mediad exits, however it exits, SIGKILL included — where
 * they still run its program (not a successor's).
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "common/log.h"
#include "mediad.h"

#ifndef HAVE_KFWD

int
kfwd_open(struct mediad *md)
{
	(void)md;
	return ENOTSUP;
}

void kfwd_close(struct mediad *md) { (void)md; }
int kfwd_check(struct mediad *md) { (void)md; return 0; }
void kfwd_beat(struct mediad *md) { (void)md; }
void kfwd_consider(struct media_leg *l) { (void)l; }
void kfwd_drop(struct media_leg *l) { (void)l; }
void kfwd_sync(struct media_leg *l) { (void)l; }
int kfwd_status(const struct mediad *md, uint32_t *legs)
{
	(void)md;
	*legs = 0;
	return 0;
}

#else

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/xmalloc.h"
#include "kfwd.h"

extern const unsigned char kfwd_obj[];
extern const size_t kfwd_obj_len;

#define KFWD_IFS_MAX	64

struct kfwd {
	struct bpf_object	*obj;
	int			 prog_fd, legs_fd, alive_fd;
	int			 ifindex[KFWD_IFS_MAX];
	size_t			 nifs;
	uint32_t		 prio;
	uint32_t		 bind_addr;	/* network order, 0: any */
	uint32_t		 nlegs;
	int			 keeper_fd;	/* the keeper's pipe; -1: none */
	int			 warned;	/* a map update failed (said once) */
	uint32_t		 prog_id;	/* the loaded program's id, 0: not known */
};

static int
kfwd_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	log_debug("kfwd: libbpf: %s", buf);
	return 0;
}

static uint64_t
kfwd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Does interface name carry Ethernet frames (or is it lo)?  The program reads an Ethernet header. */
static int
kfwd_ether(const char *name)
{
	struct ifreq ifr;
	int fd, ok = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		ok = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER ||
		    ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK;
	close(fd);
	return ok;
}

/*
 * The interfaces to attach to: media.kernel_interfaces, else every one
 * with IPv4; Ethernet and loopback only (a tun, wg or ppp interface has no
 * Ethernet header: its phones stay in userspace).
 */
static int
kfwd_pick_ifs(struct mediad *md, struct kfwd *k, char *names, size_t len)
{
	struct ifaddrs *ifa, *i;
	size_t n;
	unsigned idx;

	names[0] = '\0';
	if (md->conf->nkernel_ifs > 0) {
		for (n = 0; n < md->conf->nkernel_ifs && k->nifs < KFWD_IFS_MAX; n++) {
			if ((idx = if_nametoindex(md->conf->kernel_ifs[n])) == 0) {
				log_warnx("kfwd: media.kernel_interfaces: no interface %s",
				    md->conf->kernel_ifs[n]);
				return ENODEV;
			}
			if (!kfwd_ether(md->conf->kernel_ifs[n])) {
				log_warnx("kfwd: media.kernel_interfaces: %s is not an Ethernet "
				    "interface", md->conf->kernel_ifs[n]);
				return ENODEV;
			}
			k->ifindex[k->nifs++] = (int)idx;
			snprintf(names + strlen(names), len - strlen(names), "%s%s",
			    names[0] ? " " : "", md->conf->kernel_ifs[n]);
		}
		return 0;
	}
	if (getifaddrs(&ifa) != 0)
		return errno;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    !(i->ifa_flags & IFF_UP) || (idx = if_nametoindex(i->ifa_name)) == 0 ||
		    !kfwd_ether(i->ifa_name))
			continue;
		for (n = 0; n < k->nifs && k->ifindex[n] != (int)idx; n++)
			;
		if (n < k->nifs || k->nifs == KFWD_IFS_MAX)
			continue;
		k->ifindex[k->nifs++] = (int)idx;
		snprintf(names + strlen(names), len - strlen(names), "%s%s",
		    names[0] ? " " : "", i->ifa_name);
	}
	freeifaddrs(ifa);
	return k->nifs > 0 ? 0 : ENODEV;
}

static void
kfwd_detach(struct kfwd *k)
{
	size_t i;

	for (i = 0; i < k->nifs; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = k->ifindex[i],
		    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = k->prio);
		LIBBPF_OPTS(bpf_tc_opts, q, .handle = 1, .priority = k->prio);
		int err;

		/* only our own program: another mediad may have replaced it since */
		if (k->prog_id != 0 && (bpf_tc_query(&hook, &q) != 0 || q.prog_id != k->prog_id))
			continue;
		err = -bpf_tc_detach(&hook, &opts);

		if (err != 0 && err != ENOENT)
			log_warnx("kfwd: removing the filter from interface %d: %s", k->ifindex[i],
			    strerror(err));
	}
}

/*
 * The keeper (a child of mediad): keeps CAP_NET_ADMIN alone, waits for
 * mediad's end of the pipe to close, removes the filters and exits.
 * Signals meant for mediad (systemd's stop goes to the whole unit) do not
 * move it: mediad's own exit does.
 */
static void
kfwd_keeper(struct kfwd *k, int rfd)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	char c;

	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	(void)prctl(PR_SET_NAME, "mediad-kfwd", 0, 0, 0);
	if (rfd > 3)
		(void)syscall(SYS_close_range, 3u, (unsigned)rfd - 1, 0u);
	(void)syscall(SYS_close_range, (unsigned)rfd + 1, ~0u, 0u);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(d, 0, sizeof(d));
	d[0].permitted = d[0].effective = 1u << CAP_NET_ADMIN;
	if (syscall(SYS_capset, &h, d) != 0)
		log_warn("kfwd: keeper: capabilities");
	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
	kfwd_detach(k);
	_exit(0);
}

/* Forks the keeper; mediad keeps the pipe's write end (close-on-exec) until it exits. */
static int
kfwd_keeper_start(struct kfwd *k)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return errno;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return errno;
	}
	if (pid == 0) {
		close(p[1]);
		kfwd_keeper(k, p[0]);
	}
	close(p[0]);
	k->keeper_fd = p[1];
	return 0;
}

static void
kfwd_free(struct kfwd *k)
{
	if (k->obj != NULL)
		bpf_object__close(k->obj);
	if (k->keeper_fd >= 0)
		close(k->keeper_fd);	/* the keeper removes the filters (again) and exits */
	free(k);
}

int
kfwd_open(struct mediad *md)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "parley_kfwd");
	struct kfwd *k;
	struct bpf_program *prog;
	struct in_addr a;
	char names[512];
	size_t i;
	int err;

	if (!md->conf->media_kernel)
		return ENOTSUP;
	if (ports_family(md->ports) != AF_INET) {
		log_info("kfwd: media.bind %s is IPv6: in-kernel forwarding is IPv4 only, "
		    "the userspace relay forwards", md->conf->media_bind);
		return ENOTSUP;
	}
	libbpf_set_print(kfwd_libbpf_log);
	k = xcalloc(1, sizeof(*k));
	k->keeper_fd = -1;
	k->prio = (uint32_t)md->conf->rtp_port_min;
	if (inet_pton(AF_INET, md->conf->media_bind, &a) == 1)
		k->bind_addr = a.s_addr;
	if ((err = kfwd_pick_ifs(md, k, names, sizeof(names))) != 0)
		goto fail;
	if ((k->obj = bpf_object__open_mem(kfwd_obj, kfwd_obj_len, &oo)) == NULL) {
		err = errno;	/* libbpf >= 1.0: NULL and errno on error */
		goto fail;
	}
	if ((err = -bpf_object__load(k->obj)) != 0)
		goto fail;
	if ((prog = bpf_object__find_program_by_name(k->obj, "kfwd_ingress")) == NULL) {
		err = ENOENT;
		goto fail;
	}
	k->prog_fd = bpf_program__fd(prog);
	{
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(k->prog_fd, &info, &len) == 0)
			k->prog_id = info.id;
	}
	k->legs_fd = bpf_object__find_map_fd_by_name(k->obj, "kfwd_legs");
	k->alive_fd = bpf_object__find_map_fd_by_name(k->obj, "kfwd_alive");
	if (k->legs_fd < 0 || k->alive_fd < 0) {
		err = ENOENT;
		goto fail;
	}
	for (i = 0; i < k->nifs; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = k->ifindex[i],
		    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = k->prio,
		    .prog_fd = k->prog_fd, .flags = BPF_TC_F_REPLACE);

		if ((err = -bpf_tc_hook_create(&hook)) != 0 && err != EEXIST)
			goto fail_attached;
		if ((err = -bpf_tc_attach(&hook, &opts)) != 0)
			goto fail_attached;
	}
	if ((err = kfwd_keeper_start(k)) != 0)
		goto fail_attached;
	md->kfwd = k;
	kfwd_beat(md);
	log_info("kfwd: in-kernel forwarding on (tc ingress of %s, priority %u)", names, k->prio);
	return 0;

fail_attached:
	k->nifs = i < k->nifs ? i : k->nifs;
	kfwd_detach(k);
fail:
	log_info("kfwd: in-kernel forwarding off (%s%s): the userspace relay forwards",
	    strerror(err), err == EPERM ? "; it needs CAP_BPF and CAP_NET_ADMIN at start" : "");
	kfwd_free(k);
	return err;
}

void
kfwd_close(struct mediad *md)
{
	struct kfwd *k = md->kfwd;
	uint32_t zero = 0;
	uint64_t never = 0;

	if (k == NULL)
		return;
	(void)bpf_map_update_elem(k->alive_fd, &zero, &never, BPF_ANY);	/* stop at once */
	kfwd_free(k);		/* and the keeper removes the filters */
	md->kfwd = NULL;
}

/* Writes the beat the program checks: now.  0, or -1 and errno. */
static int
kfwd_write_beat(const struct kfwd *k)
{
	uint32_t zero = 0;
	uint64_t now = kfwd_now_ns();

	return bpf_map_update_elem(k->alive_fd, &zero, &now, BPF_ANY);
}

int
kfwd_check(struct mediad *md)
{
	if (md->kfwd == NULL || kfwd_write_beat(md->kfwd) == 0)
		return 0;
	/* before Linux 5.19, unprivileged_bpf_disabled refuses even that without CAP_BPF */
	log_warn("kfwd: in-kernel forwarding off: the table cannot be written without the "
	    "start's privileges on this kernel; the userspace relay forwards");
	kfwd_close(md);
	return EPERM;
}

void
kfwd_beat(struct mediad *md)
{
	if (md->kfwd != NULL && kfwd_write_beat(md->kfwd) != 0)
		log_warn("kfwd: beat");
}

/* Folds what the program counted for leg l since the last look into l and its peer. */
void
kfwd_sync(struct media_leg *l)
{
	struct kfwd *k = l->s != NULL && l->rtp.md != NULL ? l->rtp.md->kfwd : NULL;
	struct kfwd_leg v;
	uint32_t key = l->port;
	uint64_t seen_ms;

	if (k == NULL || l->kfwd <= 0 || bpf_map_lookup_elem(k->legs_fd, &key, &v) != 0)
		return;
	if (v.pkts == l->k_pkts)
		return;		/* nothing went through the kernel: userspace's figures stand */
	l->pkts_in += v.pkts - l->k_pkts;
	l->bytes_in += v.bytes - l->k_bytes;
	l->peer->pkts_out += v.pkts - l->k_pkts;
	l->peer->bytes_out += v.bytes - l->k_bytes;
	l->k_pkts = v.pkts;
	l->k_bytes = v.bytes;
	/*
	 * never later than the loop's now: the tick compares its now (taken
	 * before this sync) with these, unsigned
	 */
	seen_ms = v.last_ns / 1000000u;
	if (seen_ms > loop_now(l->rtp.md->loop))
		seen_ms = loop_now(l->rtp.md->loop);
	if (seen_ms > l->lat_rtp_seen)
		l->lat_rtp_seen = seen_ms;
	if (seen_ms > *l->last_rtp)
		*l->last_rtp = seen_ms;
	if (v.rx_init) {	/* the kernel saw the latest packets */
		l->rx.init = 1;
		l->rx.ssrc = v.rx_ssrc;
		l->rx.max_seq = (uint16_t)v.rx_max_seq;
		l->rx.cycles = v.rx_cycles;
		l->rx.base_seq = v.rx_base_seq;
		/* and the packets userspace saw meanwhile (before the program learnt its way) */
		l->rx.received = v.rx_received + l->k_urx;
		l->rx.last_transit = v.rx_last_transit;
		l->rx.jitter16 = v.rx_jitter16;
	}
}

/*
 * Is the address of sa one of this host's: 127/8, or an address of one of
 * its interfaces?  (Not "can a socket bind it": with ip_nonlocal_bind any
 * address can.)  -1 when it cannot tell.
 */
static int
kfwd_is_local(const struct sockaddr_in *sa)
{
	struct ifaddrs *ifa, *i;
	int local = 0;

	if ((ntohl(sa->sin_addr.s_addr) >> 24) == 127)
		return 1;
	if (getifaddrs(&ifa) != 0)
		return -1;
	for (i = ifa; i != NULL && !local; i = i->ifa_next)
		local = i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
		    ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr ==
		    sa->sin_addr.s_addr;
	freeifaddrs(ifa);
	return local;
}

/*
 * mediad's address toward leg l's phone: the source the kernel picks for
 * l's RTP socket, which is connected to the latched phone; 0 when unknown
 * (the program then learns it from the phone's packets).
 */
static uint32_t
kfwd_local_toward(const struct media_leg *l)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (!l->rtp.connected || getsockname(l->rtp.fd, (struct sockaddr *)&a, &len) != 0 ||
	    a.sin_family != AF_INET)
		return 0;
	return a.sin_addr.s_addr;
}

/*
 * The map entry for packets from leg l's phone, to go on to its peer's
 * phone; local: both phones are on this host (kfwd_consider found it).
 */
static void
kfwd_entry(const struct kfwd *k, const struct media_leg *l, int local, struct kfwd_leg *v)
{
	const struct sockaddr_in *from = (const void *)&l->lat_rtp;
	const struct sockaddr_in *to = (const void *)&l->peer->lat_rtp;

	memset(v, 0, sizeof(*v));
	v->bind_addr = k->bind_addr;
	v->phone_addr = from->sin_addr.s_addr;
	v->phone_port = from->sin_port;
	v->out_sport = htons(l->peer->port);
	v->out_daddr = to->sin_addr.s_addr;
	v->out_dport = to->sin_port;
	v->out_local = (__u16)local;
	v->out_saddr = k->bind_addr != 0 ? k->bind_addr : kfwd_local_toward(l->peer);
	v->clock = l->clock != 0 ? l->clock : 8000;
	/* the receive state goes on where userspace left it */
	v->rx_init = (uint32_t)l->rx.init;
	v->rx_ssrc = l->rx.ssrc;
	v->rx_max_seq = l->rx.max_seq;
	v->rx_cycles = l->rx.cycles;
	v->rx_base_seq = l->rx.base_seq;
	v->rx_received = l->rx.received;
	v->rx_last_transit = l->rx.last_transit;
	v->rx_jitter16 = l->rx.jitter16;
}

void
kfwd_consider(struct media_leg *l)
{
	struct kfwd *k = l->s != NULL && l->rtp.md != NULL ? l->rtp.md->kfwd : NULL;
	struct media_leg *p = l->peer;
	struct kfwd_leg v[2];
	uint32_t key[2];
	int la, lb, err;

	if (k == NULL || l->kfwd != 0 || p == NULL || l->s->tap != NULL ||
	    l->lat_rtp.ss_family != AF_INET || p->lat_rtp.ss_family != AF_INET)
		return;
	/*
	 * Both phones on this host (the program hands the packet up the
	 * stack) or neither (out of an interface).  A local phone talking to
	 * a remote one stays in userspace: its packets arrive on lo and
	 * must leave on a NIC, or arrive on a NIC with a local source.
	 */
	la = kfwd_is_local((const struct sockaddr_in *)(const void *)&l->lat_rtp);
	lb = kfwd_is_local((const struct sockaddr_in *)(const void *)&p->lat_rtp);
	if (la < 0 || lb < 0 || la != lb) {
		l->kfwd = p->kfwd = -1;		/* until a latch moves */
		log_debug("session %s: one phone on this host, one not: relayed in userspace",
		    l->s->call);
		return;
	}
	kfwd_entry(k, l, la, &v[0]);
	kfwd_entry(k, p, la, &v[1]);
	key[0] = l->port;
	key[1] = p->port;
	if (bpf_map_update_elem(k->legs_fd, &key[0], &v[0], BPF_ANY) != 0 ||
	    bpf_map_update_elem(k->legs_fd, &key[1], &v[1], BPF_ANY) != 0) {
		err = errno;
		(void)bpf_map_delete_elem(k->legs_fd, &key[0]);
		l->kfwd = p->kfwd = -1;		/* not again for every packet */
		if (!k->warned)
			log_warnx("kfwd: session %s stays in userspace: %s (said once)", l->s->call,
			    strerror(err));
		k->warned = 1;
		return;
	}
	l->kfwd = p->kfwd = 1;
	l->k_pkts = l->k_bytes = p->k_pkts = p->k_bytes = 0;
	l->k_urx = p->k_urx = 0;
	k->nlegs += 2;
	log_debug("session %s: legs on ports %u and %u forwarded in the kernel", l->s->call,
	    l->port, p->port);
}

void
kfwd_drop(struct media_leg *l)
{
	struct kfwd *k = l->s != NULL && l->rtp.md != NULL ? l->rtp.md->kfwd : NULL;
	struct media_leg *legs[2] = { l, l->peer };
	uint32_t key;
	int i;

	if (k == NULL || l->kfwd == 0)
		return;
	for (i = 0; i < 2; i++) {
		if (legs[i] == NULL || legs[i]->kfwd == 0)
			continue;
		if (legs[i]->kfwd < 0) {	/* refused: may be considered again */
			legs[i]->kfwd = 0;
			continue;
		}
		kfwd_sync(legs[i]);
		key = legs[i]->port;
		(void)bpf_map_delete_elem(k->legs_fd, &key);
		legs[i]->kfwd = 0;
		k->nlegs--;
	}
}

int
kfwd_status(const struct mediad *md, uint32_t *legs)
{
	*legs = md->kfwd != NULL ? md->kfwd->nlegs : 0;
	return md->kfwd != NULL;
}

#endif
