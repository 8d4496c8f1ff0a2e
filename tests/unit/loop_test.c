/*
 * loop_test.c — unit tests of common/loop.c: timers fire in time order, a
 * stopped timer never fires, a timer may restart itself from its own
 * callback, 10000 random timers come out sorted, an fd callback sees data
 * on a pipe, and a signal arrives as an event.  Timings are only ordered,
 * never asserted as durations (STYLE.md: no timed assertions).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "common/log.h"
#include "common/loop.h"

static struct loop *lp;

static void
setup(void)
{
	ck_assert_int_eq(loop_alloc(&lp), 0);
}

static struct loop_timer guard;

static void
teardown(void)
{
	loop_timer_stop(lp, &guard);
	loop_free(lp);
	lp = NULL;
}

/* A safety net: no test may hang. */
static int guard_fired;

static void
guard_cb(void *arg)
{
	guard_fired = 1;
	loop_stop(lp);
}

static void
arm_guard(uint64_t ms)
{
	guard_fired = 0;
	loop_timer_stop(lp, &guard);
	loop_timer_init(&guard, guard_cb, NULL);
	loop_timer_start(lp, &guard, ms);
}

/* ------------------------------------------------------------ ordering */

struct rec {
	struct loop_timer	 t;
	int			 id;
};

static int order[16];
static int norder;
static int stop_after;

static void
rec_cb(void *arg)
{
	struct rec *r = arg;

	order[norder++] = r->id;
	if (norder == stop_after)
		loop_stop(lp);
}

START_TEST(test_timers_in_order)
{
	struct rec r[4];
	static const uint64_t ms[4] = { 30, 10, 20, 0 };
	int i;

	norder = 0;
	stop_after = 4;
	for (i = 0; i < 4; i++) {
		r[i].id = i;
		loop_timer_init(&r[i].t, rec_cb, &r[i]);
		loop_timer_start(lp, &r[i].t, ms[i]);
		ck_assert(loop_timer_armed(&r[i].t));
	}
	ck_assert_uint_eq(loop_timer_count(lp), 4);
	arm_guard(5000);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(guard_fired, 0);
	ck_assert_int_eq(norder, 4);
	ck_assert_int_eq(order[0], 3);
	ck_assert_int_eq(order[1], 1);
	ck_assert_int_eq(order[2], 2);
	ck_assert_int_eq(order[3], 0);
	for (i = 0; i < 4; i++)
		ck_assert(!loop_timer_armed(&r[i].t));
	loop_timer_stop(lp, &guard);
	ck_assert_uint_eq(loop_timer_count(lp), 0);
}
END_TEST

START_TEST(test_timer_stop)
{
	struct rec r[3];
	int i;

	norder = 0;
	stop_after = 2;
	for (i = 0; i < 3; i++) {
		r[i].id = i;
		loop_timer_init(&r[i].t, rec_cb, &r[i]);
		loop_timer_start(lp, &r[i].t, (uint64_t)(10 * (i + 1)));
	}
	loop_timer_stop(lp, &r[1].t);
	ck_assert(!loop_timer_armed(&r[1].t));
	loop_timer_stop(lp, &r[1].t);	/* twice is harmless */
	ck_assert_uint_eq(loop_timer_count(lp), 2);
	arm_guard(5000);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(norder, 2);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
}
END_TEST

/* restarting: a timer moved later, and one that re-arms itself */

static int self_count;
static struct loop_timer self_t;

static void
self_cb(void *arg)
{
	if (++self_count < 5)
		loop_timer_start(lp, &self_t, 1);
	else
		loop_stop(lp);
}

START_TEST(test_timer_restart_from_callback)
{
	self_count = 0;
	loop_timer_init(&self_t, self_cb, NULL);
	loop_timer_start(lp, &self_t, 1);
	arm_guard(5000);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(self_count, 5);
	ck_assert(!loop_timer_armed(&self_t));
}
END_TEST

START_TEST(test_timer_restart_moves_it)
{
	struct rec r[2];

	norder = 0;
	stop_after = 2;
	r[0].id = 0;
	r[1].id = 1;
	loop_timer_init(&r[0].t, rec_cb, &r[0]);
	loop_timer_init(&r[1].t, rec_cb, &r[1]);
	loop_timer_start(lp, &r[0].t, 5);
	loop_timer_start(lp, &r[1].t, 20);
	loop_timer_start(lp, &r[0].t, 40);	/* now after r[1] */
	ck_assert_uint_eq(loop_timer_count(lp), 2);
	arm_guard(5000);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 0);
}
END_TEST

/* 10000 timers at random delays, some stopped: the rest fire sorted */

#define NRAND 10000

static struct loop_timer rand_t[NRAND];
static uint64_t fired_when[NRAND];
static int nfired, nexpected;

static void
rand_cb(void *arg)
{
	struct loop_timer *t = arg;

	fired_when[nfired++] = t->when;
	if (nfired == nexpected)
		loop_stop(lp);
}

START_TEST(test_random_timers_sorted)
{
	int i, stopped = 0;

	srandom(12345);
	nfired = 0;
	for (i = 0; i < NRAND; i++) {
		loop_timer_init(&rand_t[i], rand_cb, &rand_t[i]);
		loop_timer_start(lp, &rand_t[i], (uint64_t)(random() % 200));
	}
	for (i = 0; i < NRAND; i += 7) {
		loop_timer_stop(lp, &rand_t[i]);
		stopped++;
	}
	nexpected = NRAND - stopped;
	ck_assert_uint_eq(loop_timer_count(lp), (size_t)nexpected);
	arm_guard(10000);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(guard_fired, 0);
	ck_assert_int_eq(nfired, nexpected);
	for (i = 1; i < nfired; i++)
		ck_assert_msg(fired_when[i - 1] <= fired_when[i], "timer %d fired out of order", i);
	for (i = 0; i < NRAND; i += 7)
		ck_assert(!loop_timer_armed(&rand_t[i]));
}
END_TEST

/* ------------------------------------------------------------ fds */

static char got[16];
static int got_calls;

static void
pipe_cb(int fd, uint32_t events, void *arg)
{
	ssize_t n;

	ck_assert(events & EPOLLIN);
	ck_assert_ptr_eq(arg, &got_calls);
	n = read(fd, got, sizeof(got) - 1);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	got_calls++;
	loop_stop(lp);
}

START_TEST(test_fd_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	got_calls = 0;
	ck_assert_int_eq(loop_fd_add(lp, p[0], EPOLLIN, pipe_cb, &got_calls), 0);
	ck_assert_int_eq(write(p[1], "ping", 4), 4);
	arm_guard(5000);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(guard_fired, 0);
	ck_assert_int_eq(got_calls, 1);
	ck_assert_str_eq(got, "ping");
	loop_fd_del(lp, p[0]);
	/* deleted: data no longer wakes the callback */
	ck_assert_int_eq(write(p[1], "pong", 4), 4);
	arm_guard(30);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(guard_fired, 1);
	ck_assert_int_eq(got_calls, 1);
	ck_assert_int_eq(loop_fd_add(lp, -1, EPOLLIN, pipe_cb, NULL), EBADF);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ------------------------------------------------------------ signals */

static int sig_got;

static void
sig_cb(int signo, void *arg)
{
	sig_got = signo;
	*(int *)arg += 1;
	loop_stop(lp);
}

START_TEST(test_signal_event)
{
	int calls = 0;

	sig_got = 0;
	ck_assert_int_eq(loop_signal(lp, SIGUSR1, sig_cb, &calls), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);	/* blocked: stays pending for signalfd */
	arm_guard(5000);
	ck_assert_int_eq(loop_run(lp), 0);
	ck_assert_int_eq(guard_fired, 0);
	ck_assert_int_eq(sig_got, SIGUSR1);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(test_now_monotonic)
{
	uint64_t a = clock_mono_ms(), b;

	b = clock_mono_ms();
	ck_assert_uint_le(a, b);
	ck_assert_uint_le(loop_now(lp), clock_mono_ms());
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");

	log_init("loop_test", 1, LOG_LVL_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_timers_in_order);
	tcase_add_test(tc, test_timer_stop);
	tcase_add_test(tc, test_timer_restart_from_callback);
	tcase_add_test(tc, test_timer_restart_moves_it);
	tcase_add_test(tc, test_random_timers_sorted);
	tcase_add_test(tc, test_fd_pipe);
	tcase_add_test(tc, test_signal_event);
	tcase_add_test(tc, test_now_monotonic);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
