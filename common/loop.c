/*
 * loop.c — see loop.h.  epoll + a binary min-heap of timers + signalfd.
 * File descriptors are looked up in an array indexed by fd.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

/* ready fds taken per epoll_wait: a busy relay has hundreds at once */
#define LOOP_EVENTS	256

struct loop_fd {
	loop_fd_cb	 cb;
	void		*arg;
	int		 used;
};

struct loop_sig {
	int		 signo;
	loop_signal_cb	 cb;
	void		*arg;
};

struct loop {
	int			 epfd;
	struct loop_fd		*fds;
	size_t			 nfds;
	struct loop_timer	**heap;
	size_t			 heap_len, heap_cap;
	int			 sigfd;
	sigset_t		 sigmask;
	struct loop_sig		 sigs[16];
	size_t			 nsigs;
	uint64_t		 now;
	int			 stop;
};

uint64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
loop_alloc(struct loop **lp)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = errno;
		free(l);
		return err;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->now = clock_mono_ms();
	*lp = l;
	return 0;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	free(l->fds);
	free(l->heap);
	free(l);
}

int
loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0)
		return EBADF;
	if ((size_t)fd >= l->nfds) {
		size_t n = (size_t)fd * 2 + 16;

		l->fds = xrealloc(l->fds, n * sizeof(*l->fds));
		memset(l->fds + l->nfds, 0, (n - l->nfds) * sizeof(*l->fds));
		l->nfds = n;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return errno;
	l->fds[fd].cb = cb;
	l->fds[fd].arg = arg;
	l->fds[fd].used = 1;
	return 0;
}

int
loop_fd_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return errno;
	return 0;
}

void
loop_fd_del(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->fds[fd].used = 0;
	l->fds[fd].cb = NULL;
}

/* --- timers: binary min-heap on 'when'; heap_idx is index + 1 --- */

static void
heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i + 1;
}

static void
heap_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (l->heap[parent]->when <= t->when)
			break;
		heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	heap_set(l, i, t);
}

static void
heap_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->heap_len)
			break;
		if (c + 1 < l->heap_len && l->heap[c + 1]->when < l->heap[c]->when)
			c++;
		if (t->when <= l->heap[c]->when)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void
loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	t->when = 0;
	t->heap_idx = 0;
	t->cb = cb;
	t->arg = arg;
}

void
loop_timer_stop(struct loop *l, struct loop_timer *t)
{
	size_t i;
	struct loop_timer *last;

	if (t->heap_idx == 0)
		return;
	i = t->heap_idx - 1;
	t->heap_idx = 0;
	last = l->heap[--l->heap_len];
	if (last == t)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->heap_idx - 1);
}

void
loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	loop_timer_stop(l, t);
	t->when = l->now + ms;
	if (l->heap_len == l->heap_cap) {
		l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 256;
		l->heap = xrealloc(l->heap, l->heap_cap * sizeof(*l->heap));
	}
	l->heap[l->heap_len] = t;
	t->heap_idx = ++l->heap_len;
	heap_up(l, l->heap_len - 1);
}

size_t
loop_timer_count(const struct loop *l)
{
	return l->heap_len;
}

static void
loop_run_timers(struct loop *l)
{
	while (l->heap_len > 0 && l->heap[0]->when <= l->now) {
		struct loop_timer *t = l->heap[0];

		loop_timer_stop(l, t);
		t->cb(t->arg);
		if (l->stop)
			return;
	}
}

/* --- signals --- */

static void
loop_sigfd_cb(int fd, uint32_t events, void *arg)
{
	struct loop *l = arg;
	struct signalfd_siginfo si;
	size_t i;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (i = 0; i < l->nsigs; i++)
			if (l->sigs[i].signo == (int)si.ssi_signo)
				l->sigs[i].cb((int)si.ssi_signo, l->sigs[i].arg);
	}
}

int
loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	int fd, err;

	if (l->nsigs == sizeof(l->sigs) / sizeof(l->sigs[0]))
		return ENOSPC;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return errno;
	fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return errno;
	if (l->sigfd < 0) {
		l->sigfd = fd;
		if ((err = loop_fd_add(l, fd, EPOLLIN, loop_sigfd_cb, l)) != 0)
			return err;
	}
	l->sigs[l->nsigs].signo = signo;
	l->sigs[l->nsigs].cb = cb;
	l->sigs[l->nsigs].arg = arg;
	l->nsigs++;
	return 0;
}

/* --- the loop --- */

int
loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_EVENTS];

	l->stop = 0;
	while (!l->stop) {
		int timeout = -1, n, i;

		l->now = clock_mono_ms();
		loop_run_timers(l);
		if (l->stop)
			break;
		if (l->heap_len > 0) {
			uint64_t when = l->heap[0]->when;

			timeout = when > l->now ? (int)(when - l->now) : 0;
		}
		n = epoll_wait(l->epfd, evs, LOOP_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		l->now = clock_mono_ms();
		for (i = 0; i < n && !l->stop; i++) {
			int fd = evs[i].data.fd;

			/* an earlier callback in this batch may have closed it */
			if ((size_t)fd < l->nfds && l->fds[fd].used)
				l->fds[fd].cb(fd, evs[i].events, l->fds[fd].arg);
		}
	}
	return 0;
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}

uint64_t
loop_now(struct loop *l)
{
	return l->now;
}
