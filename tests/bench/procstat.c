/*
 * procstat.c — see procstat.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/procstat.h"

uint64_t
procstat_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
procstat_self_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
procstat_ticks(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut = 0, st = 0;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* fields after "(comm) ": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return ut + st;
}

uint64_t
procstat_io_write(pid_t pid)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "write_bytes: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

pid_t
procstat_softirqd(int cpu)
{
	char path[300], want[32], comm[64];
	struct dirent *d;
	pid_t pid = 0;
	DIR *dir;
	FILE *f;

	if (cpu < 0 || (dir = opendir("/proc")) == NULL)
		return 0;
	snprintf(want, sizeof(want), "ksoftirqd/%d\n", cpu);
	while (pid == 0 && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL && strcmp(comm, want) == 0)
			pid = (pid_t)atoi(d->d_name);
		fclose(f);
	}
	closedir(dir);
	return pid;
}

void
procstat_sched(pid_t pid, uint64_t *run, uint64_t *wait)
{
	char path[300];
	unsigned long long r, w;
	struct dirent *d;
	DIR *dir;
	FILE *f;

	*run = *wait = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (pid <= 0 || (dir = opendir(path)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu %llu", &r, &w) == 2) {
			*run += r;
			*wait += w;
		}
		fclose(f);
	}
	closedir(dir);
}
