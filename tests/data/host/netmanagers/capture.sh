#!/bin/bash
# Capture the host roots under tests/data/host/netmanagers/: NetworkManager 1.42 of Debian 12 run from its packages
# (apt-get download + dpkg -x, nothing installed) next to ifupdown or systemd-networkd, in network, PID and mount
# namespaces of its own (unshare, with its own hostname: NetworkManager sets it from DHCP): an overlay puts the unpacked packages over /usr and the case's files over /etc
# (read-only, so nothing of the host's /etc can be written), /run is a tmpfs, a private dbus-daemon is the system bus,
# /sys is remounted read-only (NetworkManager then takes the namespace's devices as in a container, without udev).
# The one device, eth0, is a veth whose peer sits in another namespace.
# Files, as the real tools write them:
#   etc/NetworkManager/NetworkManager.conf        network-manager's conffile ([ifupdown] managed=false)
#   etc/network/interfaces                        what ifupdown's postinst writes (source /etc/network/interfaces.d/*)
#   etc/network/interfaces.d/50-cloud-init        cloud-init 22.4 `devel net-convert -O eni` of network-config.yaml
#   etc/systemd/network/10-cloud-init-eth0.network  the same, `-O networkd`
#   etc/sysconfig/network-scripts/ifcfg-eth0 …    the same, `-D centos -O sysconfig` (case ifcfg, files only)
#   etc/netplan/50-cloud-init.yaml, run/…         the same, `-O netplan`, then netplan 0.106's generate (case netplan)
# Captured in the namespaces: sos_commands/process/ps_auxwww (`ps auxwww`), sos_commands/networkmanager/nmcli_dev
# and nmcli_general_status (sosreport's `nmcli dev`, `nmcli general status`), and
# sos_commands/systemd/systemctl_list-unit-files (`systemctl --root` over the packages' unit files, enabled as their
# postinst enables them). Settings of the capture only (no DNS or resolv.conf handling, no polkit) are in
# /run/NetworkManager/conf.d, which is not part of the roots.
# Cases: ifupdown-nm-default (the packages as shipped: NetworkManager leaves eth0 to ifupdown), ifupdown-nm-managed
# ([ifupdown] managed=true), networkd-and-nm (systemd-networkd and NetworkManager both running),
# networkd-nm-unmanaged (the same with unmanaged-devices=interface-name:eth0), ifcfg and netplan (files only).
# Usage: capture.sh SCRATCH_DIR   (needs root: unshare, mount)
set -euo pipefail
OUT=$(cd "$(dirname "$0")" && pwd)

inner() {  # in the namespaces: scratch dir, case root, "networkd" to run systemd-networkd too
  local S=$1 C=$2
  mount -t tmpfs tmpfs /run
  mkdir -p /run/dbus /run/NetworkManager/conf.d /run/systemd/netif
  mount -t overlay overlay -o "lowerdir=$S/root/usr:/usr" /usr
  mount -t overlay overlay -o "lowerdir=$C/etc:/etc" /etc
  mount -t sysfs -o ro sysfs /sys
  printf '[main]\ndns=none\nrc-manager=unmanaged\nauth-polkit=false\n' > /run/NetworkManager/conf.d/00-capture.conf
  ip link set lo up
  ip netns add peer
  ip link add eth0 address 52:54:00:12:34:56 type veth peer name peer0 netns peer
  ip -n peer link set peer0 up
  dbus-daemon --config-file="$S/dbus.conf" --fork
  if [ "${3:-}" = networkd ]; then chown systemd-network:systemd-network /run/systemd/netif; /lib/systemd/systemd-networkd & fi
  /usr/sbin/NetworkManager --no-daemon > /dev/null 2>&1 &
  sleep 5
  mkdir -p "$C/sos_commands/process" "$C/sos_commands/networkmanager"
  nmcli dev > "$C/sos_commands/networkmanager/nmcli_dev"
  nmcli general status > "$C/sos_commands/networkmanager/nmcli_general_status"
  ps auxwww > "$C/sos_commands/process/ps_auxwww"
  kill $(jobs -p)
}
if [ "${1:-}" = inner ]; then shift; inner "$@"; exit; fi

S=${1:?scratch dir}; S=$(mkdir -p "$S" && cd "$S" && pwd)
mkdir -p "$S/debs"
(cd "$S/debs" && apt-get download -q network-manager libnm0 libndp0 libnewt0.52 libteamdctl0 libmm-glib0 libbluetooth3 \
  ifupdown cloud-init netplan.io libnetplan0)
rm -rf "$S/root"; for d in "$S"/debs/*.deb; do dpkg -x "$d" "$S/root"; done
dpkg-deb -e "$S"/debs/ifupdown_*.deb "$S/ifupdown.control"
cat > "$S/dbus.conf" <<'XML'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
XML
# cloud-init's renderers, from one network config (the address of a controller's management NIC, with its gateway)
for kind in "debian eni" "debian networkd" "centos sysconfig" "ubuntu netplan"; do
  set -- $kind
  rm -rf "$S/render/$1-$2"
  PYTHONPATH=$S/root/usr/lib/python3/dist-packages /usr/bin/python3 -m cloudinit.cmd.main devel net-convert \
    -p "$OUT/network-config.yaml" -k yaml -D "$1" -O "$2" -d "$S/render/$1-$2" > /dev/null
done

new_root() {  # case: the hostname, the packaged NetworkManager.conf and what ifupdown's postinst writes
  local root=$OUT/$1
  rm -rf "$root"; mkdir -p "$root/etc/NetworkManager" "$root/etc/network"
  echo "$1" > "$root/etc/hostname"
  cp "$S/root/etc/NetworkManager/NetworkManager.conf" "$root/etc/NetworkManager/"
  sed -n 's|^ *\(echo ".*"\) >>\? /etc/network/interfaces$|\1|p' "$S/ifupdown.control/postinst" | grep -v Creating | sh > "$root/etc/network/interfaces"
}
units() {  # case, units to enable: systemctl --root over the packages' unit files and networkd's
  local sd=$S/systemd-$1
  rm -rf "$sd"; mkdir -p "$sd/lib/systemd/system" "$sd/etc" "$OUT/$1/sos_commands/systemd"
  cp "$S"/root/lib/systemd/system/{NetworkManager,NetworkManager-wait-online,NetworkManager-dispatcher,nm-priv-helper,networking,ifupdown-pre}.service \
     /lib/systemd/system/systemd-networkd.{service,socket} "$sd/lib/systemd/system/"
  systemctl --root="$sd" enable "${@:2}" 2> /dev/null
  systemctl --root="$sd" list-unit-files --no-pager --plain > "$OUT/$1/sos_commands/systemd/systemctl_list-unit-files"
}
run() { unshare --uts --net --pid --mount --fork --mount-proc "$0" inner "$S" "$OUT/$1" "${2:-}"; }

new_root ifupdown-nm-default
cp -r "$S/render/debian-eni/etc/network/interfaces.d" "$OUT/ifupdown-nm-default/etc/network/"
units ifupdown-nm-default NetworkManager.service networking.service
run ifupdown-nm-default

new_root ifupdown-nm-managed
cp -r "$S/render/debian-eni/etc/network/interfaces.d" "$OUT/ifupdown-nm-managed/etc/network/"
sed -i 's/^managed=false$/managed=true/' "$OUT/ifupdown-nm-managed/etc/NetworkManager/NetworkManager.conf"
units ifupdown-nm-managed NetworkManager.service networking.service
run ifupdown-nm-managed

for case in networkd-and-nm networkd-nm-unmanaged; do
  new_root $case
  mkdir -p "$OUT/$case/etc/systemd"
  cp -r "$S/render/debian-networkd/etc/systemd/network" "$OUT/$case/etc/systemd/"
  units $case NetworkManager.service systemd-networkd.service
done
mkdir -p "$OUT/networkd-nm-unmanaged/etc/NetworkManager/conf.d"
printf '[keyfile]\nunmanaged-devices=interface-name:eth0\n' > "$OUT/networkd-nm-unmanaged/etc/NetworkManager/conf.d/99-unmanaged-devices.conf"
run networkd-and-nm networkd
run networkd-nm-unmanaged networkd

for case in ifcfg:centos-sysconfig netplan:ubuntu-netplan; do
  rm -rf "$OUT/${case%%:*}"; mkdir -p "$OUT/${case%%:*}"
  cp -r "$S/render/${case#*:}/etc" "$OUT/${case%%:*}/"; echo "${case%%:*}" > "$OUT/${case%%:*}/etc/hostname"
done
chmod 600 "$OUT/netplan/etc/netplan/50-cloud-init.yaml"
LD_LIBRARY_PATH=$S/root/usr/lib/x86_64-linux-gnu "$S/root/usr/libexec/netplan/generate" --root-dir "$OUT/netplan"
rm -rf "$OUT/netplan/run/systemd/system"  # netplan's OVS clean-up unit: not networking
