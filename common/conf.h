/*
 * conf.h — the Parley configuration (one libconfig file shared by all
 * daemons, see docs/contract.md) loaded into plain structs with every
 * default filled in.  Validation errors name file:line.
 *
 * conf_load(NULL, ...) gives the built-in default (conf->builtin = 1).
 * Owns every string it holds; conf_free releases them.
 */
#ifndef PARLEY_CONF_H
#define PARLEY_CONF_H

#include <stddef.h>

#define CONF_DEFAULT_PATH "/etc/parley/parley.conf"

enum conf_transport { CONF_UDP, CONF_TCP };

struct conf_listen {
	enum conf_transport	 transport;
	char			*host;	/* literal address, no brackets */
	int			 port;
};

struct conf_user {
	char	*name;
	char	*password;	/* either password ... */
	char	*ha1;		/* ... or MD5(name:realm:password), hex */
	char	*display;
	char	*media;		/* "relay", "p2p" or NULL = media.mode */
	int	 record;	/* 1, 0, or -1 = recording.calls decides */
};

struct conf_reason {
	int	 code;
	char	*text;
};

struct parley_conf {
	char			*path;		/* NULL for the built-in default */
	int			 builtin;

	/* sip */
	struct conf_listen	*listen;
	size_t			 nlisten;
	char			*domain;	/* also the digest realm */
	int			 auth;
	int			 no_answer_timeout;	/* s */
	int			 min_expires, max_expires, default_expires;
	int			 nonce_ttl;	/* s */
	struct conf_reason	*reasons;
	size_t			 nreasons;

	struct conf_user	*users;
	size_t			 nusers;

	/* rooms */
	char			**room_numbers;
	size_t			 nroom_numbers;
	int			 max_participants, max_rooms;

	/* media */
	char			*media_mode;
	int			 rtp_port_min, rtp_port_max;
	char			**codecs;
	size_t			 ncodecs;
	int			 rtp_timeout;
	char			*media_bind;	/* mediad's RTP sockets bind here */
	char			*media_advertise; /* written in SDP; "" = see contract */
	char			*media_node;	/* node name; "" = host name */
	int			 media_kernel;	/* forward latched legs in the kernel when it can */
	char			**kernel_ifs;	/* interfaces for that; none: every IPv4 one */
	size_t			 nkernel_ifs;

	/* recording */
	char			*rec_dir;
	int			 rec_calls, rec_rooms, rec_legs, rec_mix;

	/* journal */
	char			*journal_path;
	int			 journal_json;

	/* control */
	char			*ctl_sipctl, *ctl_recorder;
	char			**ctl_media;	/* mediad nodes: sipd connects to each, */
	size_t			 nctl_media;	/* a mediad binds the first */

	/* log */
	int			 log_level;	/* enum log_level */

	/* daemon: who a daemon started as root runs as once its sockets are bound */
	char			*daemon_user;
	char			*daemon_group;	/* NULL: daemon_user's primary group */
};

/*
 * Loads path (NULL: the built-in default).  On error returns EINVAL (or an
 * errno value) and writes "file:line: what" into err.
 */
int	 conf_load(const char *path, struct parley_conf **out, char *err, size_t errlen);
void	 conf_free(struct parley_conf *c);

const struct conf_user	*conf_user_find(const struct parley_conf *c, const char *name);
const char		*conf_reason_phrase(const struct parley_conf *c, int code);
/*
 * Is a 1:1 call between the users caller and callee recorded?  Yes when
 * either's users[].record is true, or when recording.calls is true and
 * neither's is false (either may be NULL or no configured user); never
 * when recording.legs and recording.mix are both false.
 */
int			 conf_record_call(const struct parley_conf *c, const char *caller,
			    const char *callee);
/* Are rooms recorded (recording.rooms, and legs or mix)? */
int			 conf_record_rooms(const struct parley_conf *c);
/* Is user a room of rooms.numbers ("800-899": 3 digits from 800 to 899; or a name)? */
int			 conf_room_match(const struct parley_conf *c, const char *user);

/*
 * For a daemon's main(): loads path, or the built-in default when path is
 * the default one (explicit = 0) and no such file exists.  Prints
 * "progname: file:line: what" to stderr on error.  0 or an errno value.
 */
int	 conf_load_main(const char *progname, const char *path, int explicit,
	    struct parley_conf **out);
/* What a daemon's command line asked for (see conf_main). */
struct conf_main_opts {
	int			 foreground, debug;
	const char		*pidfile;	/* -p FILE, or NULL */
	struct parley_conf	*conf;		/* loaded */
};

/*
 * The command line every Parley daemon takes: -c FILE -p FILE -f -d -t -V -h.
 * Loads the configuration into o->conf and returns -1 when the daemon is
 * to run; else it has done what was asked (help, version, -t, a usage or
 * configuration error) and returns the exit status.
 */
int	 conf_main(const char *progname, int argc, char **argv, struct conf_main_opts *o);
/* path made absolute against the current directory (malloc'd) */
char	*conf_abspath(const char *path);

/* "udp:1.2.3.4:5060", "tcp:[::1]:5060" → fields; 0 or EINVAL */
int	 conf_parse_listen(const char *s, struct conf_listen *out);

#endif
