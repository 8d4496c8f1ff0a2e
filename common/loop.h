/*
 * loop.h — the single-threaded event loop every Parley daemon runs:
 * epoll over file descriptors, monotonic one-shot timers kept in a binary
 * heap, and signals delivered as events through signalfd.
 *
 * ZeroMQ sockets join through their ZMQ_FD, which is edge-triggered: the
 * callback must drain while ZMQ_EVENTS says so, and re-check after every
 * send on that socket.
 *
 * Timers are embedded in their owner (struct loop_timer), so starting one
 * never allocates.  A callback may start or stop any timer, its own too.
 */
#ifndef PARLEY_LOOP_H
#define PARLEY_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct loop;

typedef void (*loop_fd_cb)(int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(void *arg);
typedef void (*loop_signal_cb)(int signo, void *arg);

struct loop_timer {
	uint64_t	 when;		/* monotonic ms */
	size_t		 heap_idx;	/* 0 = not armed, else index + 1 */
	loop_timer_cb	 cb;
	void		*arg;
};

int	 loop_alloc(struct loop **lp);
void	 loop_free(struct loop *l);

/* events are EPOLLIN / EPOLLOUT (level-triggered) */
int	 loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int	 loop_fd_mod(struct loop *l, int fd, uint32_t events);
void	 loop_fd_del(struct loop *l, int fd);

void	 loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg);
void	 loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t ms);
void	 loop_timer_stop(struct loop *l, struct loop_timer *t);
static inline int loop_timer_armed(const struct loop_timer *t) { return t->heap_idx != 0; }
size_t	 loop_timer_count(const struct loop *l);

/* Blocks signo for the process and delivers it as an event. */
int	 loop_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Runs until loop_stop(); returns 0, or an errno value if epoll failed. */
int	 loop_run(struct loop *l);
void	 loop_stop(struct loop *l);

/* Monotonic milliseconds, refreshed once per loop iteration. */
uint64_t loop_now(struct loop *l);
uint64_t clock_mono_ms(void);
/* UTC milliseconds since 1970 (CLOCK_REALTIME), for timestamps people read */
uint64_t clock_wall_ms(void);

#endif
