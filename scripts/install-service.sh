#!/bin/sh
# scripts/install-service.sh — the README's way to install Parley as a
# service on this machine (Debian 12, as root): the dependencies, the build
# (scripts/build.sh), the system user parley, `make install` (programs in
# /usr/local, the configuration in /etc/parley, the call journal in
# /var/log/parley, state in /var/lib/parley, sockets in /run/parley, units,
# init scripts, logrotate file, bash completion), then parley.target enabled
# and started under systemd, or the SysV init scripts without it.  Run it
# again to upgrade: an edited /etc/parley/parley.conf is kept.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "install-service.sh: run as root" >&2
	exit 1
fi
"$top/scripts/deps.sh" --runtime
command -v logrotate > /dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends logrotate
"$top/scripts/build.sh"

# the daemons run as parley: systemd's User=, or dropped to after binding
getent group parley > /dev/null || groupadd --system parley
getent passwd parley > /dev/null ||
	useradd --system --gid parley --home-dir /var/lib/parley --no-create-home \
	    --shell /usr/sbin/nologin parley
make -C "$top/build" install
# the file holds passwords and is read again on SIGHUP, after the drop
chown root:parley /etc/parley /etc/parley/parley.conf
chmod 0750 /etc/parley
chmod 0640 /etc/parley/parley.conf
chown parley:parley /var/log/parley /var/lib/parley /var/lib/parley/recordings

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable parley.target parley-sipd.service parley-mediad.service parley-recd.service
	systemctl restart parley.target
	how="systemctl status parley.target; after editing it: systemctl reload parley-sipd"
else
	update-rc.d parley-recd defaults
	update-rc.d parley-mediad defaults
	update-rc.d parley-sipd defaults
	/etc/init.d/parley-recd restart
	/etc/init.d/parley-mediad restart
	/etc/init.d/parley-sipd restart
	how="/etc/init.d/parley-sipd status; after editing it: /etc/init.d/parley-sipd reload"
fi
cat <<MSG
Parley runs as a service.  Its users are in /etc/parley/parley.conf (none
yet; see parley.conf(5)): $how.
Operators in the group parley may run sipctl (adduser NAME parley).
MSG
