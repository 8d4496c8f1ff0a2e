/*
 * procstat.h — what the bench load tools (rtpload, roomload) read of a
 * process and of the machine: clocks, a process's CPU time and storage
 * writes from /proc, scheduler wait, the ksoftirqd of a CPU.  Linux only; no error is fatal:
 * what cannot be read is 0.
 */
#ifndef PARLEY_BENCH_PROCSTAT_H
#define PARLEY_BENCH_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC, ns */
uint64_t procstat_mono_ns(void);
/* CPU time of this process (all threads), ns */
uint64_t procstat_self_ns(void);
/* utime + stime of pid (all threads), in clock ticks (sysconf(_SC_CLK_TCK)); 0 if pid <= 0 */
uint64_t procstat_ticks(pid_t pid);
/* bytes pid has caused to be written to storage (/proc/PID/io write_bytes; root); 0 if pid <= 0 */
uint64_t procstat_io_write(pid_t pid);
/* the pid of ksoftirqd/cpu, or 0 */
pid_t	 procstat_softirqd(int cpu);
/*
 * Time on the CPU and time runnable but waiting for it (another task had
 * the CPU), ns, summed over the threads of pid (/proc/PID/task/TID/schedstat).
 */
void	 procstat_sched(pid_t pid, uint64_t *run, uint64_t *wait);

#endif
