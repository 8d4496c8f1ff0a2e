/*
 * ports.c — the pool of RTP/RTCP port pairs mediad relays on
 * (media.rtp_ports): RTP on the even port, RTCP on the odd one above it.
 *
 * A FIFO of free pairs: a pair freed at the end of a call goes to the back,
 * so the next calls get other ports and stray packets of the old call do
 * not reach them.  A port another program holds is skipped (and retried
 * later), so the pool works beside other software on the same range.
 * Exhaustion is ENOSPC for the caller to report, never fatal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mediad.h"

struct ports {
	struct sockaddr_storage	 addr;	/* port 0 */
	socklen_t		 alen;
	uint16_t		 first;	/* the first even port */
	uint32_t		 npairs;
	uint32_t		*fifo;	/* pair indexes, ring of npairs */
	uint32_t		 head, count;	/* count = free pairs */
};

int
ports_alloc_pool(struct ports **pp, const char *addr, int min, int max)
{
	struct ports *p;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;
	uint32_t i;
	int first = min + (min & 1);

	if (first + 1 > max)
		return EINVAL;
	p = xcalloc(1, sizeof(*p));
	s4 = (struct sockaddr_in *)&p->addr;
	s6 = (struct sockaddr_in6 *)&p->addr;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		p->alen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		p->alen = sizeof(*s6);
	} else {
		free(p);
		return EINVAL;
	}
	p->first = (uint16_t)first;
	p->npairs = (uint32_t)(max - first + 1) / 2;
	p->fifo = xcalloc(p->npairs, sizeof(*p->fifo));
	for (i = 0; i < p->npairs; i++)
		p->fifo[i] = i;
	p->count = p->npairs;
	*pp = p;
	return 0;
}

void
ports_free_pool(struct ports *p)
{
	if (p == NULL)
		return;
	free(p->fifo);
	free(p);
}

static int
ports_bind_one(struct ports *p, uint16_t port)
{
	struct sockaddr_storage a = p->addr;
	int fd, tos = 0xb8;	/* DSCP EF, as phones mark voice */

	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons(port);
	if ((fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (a.ss_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	else
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	if (bind(fd, (struct sockaddr *)&a, p->alen) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
ports_get(struct ports *p, int *rtp_fd, int *rtcp_fd, uint16_t *port)
{
	uint32_t tries, idx;
	uint16_t pt;

	/* each free pair at most once: those held by others go to the back */
	for (tries = p->count; tries > 0; tries--) {
		idx = p->fifo[p->head];
		p->head = (p->head + 1) % p->npairs;
		p->count--;
		pt = (uint16_t)(p->first + 2 * idx);
		if ((*rtp_fd = ports_bind_one(p, pt)) >= 0) {
			if ((*rtcp_fd = ports_bind_one(p, (uint16_t)(pt + 1))) >= 0) {
				*port = pt;
				return 0;
			}
			close(*rtp_fd);
		}
		log_debug("ports: %u/%u in use by another program, skipped", pt, pt + 1);
		p->fifo[(p->head + p->count) % p->npairs] = idx;
		p->count++;
	}
	return ENOSPC;
}

void
ports_put(struct ports *p, int rtp_fd, int rtcp_fd, uint16_t port)
{
	close(rtp_fd);
	close(rtcp_fd);
	p->fifo[(p->head + p->count) % p->npairs] = (uint32_t)(port - p->first) / 2;
	p->count++;
}

uint32_t
ports_capacity(const struct ports *p)
{
	return p->npairs;
}

uint32_t
ports_free_count(const struct ports *p)
{
	return p->count;
}

int
ports_family(const struct ports *p)
{
	return p->addr.ss_family;
}
