#!/bin/bash
# Capture the memcached host roots under tests/data/host/memcached/ with Debian 12's memcached (1.6.18), started
# the way its systemd unit starts it (systemd-memcached-wrapper reading memcached.conf), in network and PID
# namespaces of its own (unshare --net --pid): it listens on that namespace's 127.0.0.1:11211, so the capture can
# use sosreport's own command and file names without touching a memcached of the host.
# Each case gets etc/memcached.conf (the package's default, `-c` set the way an administrator sets it),
# sos_commands/memcached/usr.share.memcached.scripts.memcached-tool_127.0.0.1_11211_stats (sosreport's memcached
# plugin runs `/usr/share/memcached/scripts/memcached-tool 127.0.0.1:11211 stats` on Debian) and
# sos_commands/process/ps_auxwww (`ps auxwww` inside the namespace: the wrapper-started memcached and the clients).
# limit-reached also gets etc/openstack-dashboard/local_settings.py from Debian's openstack-dashboard package.
# Cases: healthy (package default, 5 clients); limit-reached (`-c 64`, 80 clients: memcached turns the extra ones
# away with "ERROR Too many open connections", then 8 clients leave so that memcached-tool gets in);
# full-now (`-c 64`, 80 clients kept while memcached-tool asks: it is turned away too).
# Usage: capture.sh   (needs root and the memcached package: apt-get install memcached)
set -euo pipefail
OUT=$(cd "$(dirname "$0")" && pwd)
DEFAULT=/usr/share/memcached/memcached.conf.default
TOOL=/usr/share/memcached/scripts/memcached-tool
STATS=usr.share.memcached.scripts.memcached-tool_127.0.0.1_11211_stats

inner() {  # in the namespaces: root, clients, clients that leave
  ip link set lo up
  mount -t tmpfs tmpfs /run  # the pid file (-P /var/run/memcached/…) stays in the namespace
  mkdir -p /run/memcached && chown memcache /run/memcached
  /usr/share/memcached/scripts/systemd-memcached-wrapper "$1/etc/memcached.conf" 2>/dev/null &
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null && break; sleep 0.1; done
  /usr/bin/python3 -c 'import socket, sys, time
clients = [socket.create_connection(("127.0.0.1", 11211)) for _ in range(int(sys.argv[1]))]
time.sleep(1)
for c in clients[: int(sys.argv[2])]:
    c.close()
time.sleep(30)' "$2" "$3" &
  sleep 2
  "$TOOL" 127.0.0.1:11211 stats > "$1/sos_commands/memcached/$STATS" || true
  ps auxwww > "$1/sos_commands/process/ps_auxwww"
  kill %2 %1
}
if [ "${1:-}" = inner ]; then shift; inner "$@"; exit; fi

capture() {  # case, limit line ("" = the package default), clients, clients that leave before memcached-tool asks
  local case=$1 limit=$2 clients=$3 leave=$4 root
  root=$OUT/$case
  rm -rf "$root"; mkdir -p "$root/etc" "$root/sos_commands/memcached" "$root/sos_commands/process"
  echo "$case" > "$root/etc/hostname"
  if [ -n "$limit" ]; then sed "s/^# -c 1024$/$limit/" "$DEFAULT" > "$root/etc/memcached.conf"
  else cp "$DEFAULT" "$root/etc/memcached.conf"; fi
  unshare --net --pid --fork --mount-proc "$0" inner "$root" "$clients" "$leave"
}

capture healthy "" 5 0
capture limit-reached "-c 64" 80 8
capture full-now "-c 64" 80 0
# horizon's settings as openstack-dashboard's postinst installs them (its example; the memcached CACHES commented out)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
(cd "$T" && apt-get download -q openstack-dashboard > /dev/null && dpkg -x openstack-dashboard_*.deb x)
mkdir -p "$OUT/limit-reached/etc/openstack-dashboard"
cp "$T/x/usr/share/openstack-dashboard/examples/local_settings.py" "$OUT/limit-reached/etc/openstack-dashboard/"
