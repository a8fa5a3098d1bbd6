#!/bin/bash
# Capture the OVS host roots under tests/data/host/ovs/ with the real Open vSwitch 3.1 of Debian 12, run from its
# packages unpacked in a scratch directory (apt-get download + dpkg -x, nothing installed), in a network namespace
# of its own (unshare --net), userspace datapath: nothing touches the host's networking.
# The bridges, ports and flows are those neutron's OVS agent (Zed, native OpenFlow driver, iptables_hybrid off)
# programs on a compute node with one instance port and a DHCP port on network 1 (local VLAN 1), written here with
# ovs-ofctl in the agent's tables (0 local switching, 23 canary, 24/25 ARP/MAC spoofing, 59 rate limit, 60
# transient, 61 egress). Cases: healthy; port-dead (the agent's port_dead(): tag 4095 and a priority-2 drop of
# the port's in_port, its other flows gone); br-ex-flows-lost (`ovs-ofctl del-flows br-ex`, as after an agent crash mid-resync).
# Usage: capture.sh SCRATCH_DIR   (needs root: unshare, nsenter)
set -euo pipefail
S=${1:?scratch dir}; OUT=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$S/debs" "$S/run"
(cd "$S/debs" && apt-get download -q openvswitch-switch openvswitch-common)
for d in "$S"/debs/*.deb; do dpkg -x "$d" "$S/root"; done
R=$S/root RUN=$S/run DB=unix:$S/run/db.sock
export PATH=$R/usr/bin:$R/usr/sbin:$R/usr/lib/openvswitch-switch:$PATH OVS_RUNDIR=$RUN OVS_LOGDIR=$RUN OVS_DBDIR=$RUN \
       OVS_SYSCONFDIR=$RUN OVS_PKGDATADIR=$R/usr/share/openvswitch
rm -f "$RUN"/*
ovsdb-tool create "$RUN/conf.db" "$R/usr/share/openvswitch/vswitch.ovsschema"
unshare --net --fork bash -c "ovsdb-server $RUN/conf.db --remote=punix:$RUN/db.sock --pidfile=$RUN/ovsdb-server.pid --detach --log-file=$RUN/ovsdb.log
  ovs-vsctl --db=$DB --no-wait init
  ovs-vswitchd $DB --pidfile=$RUN/ovs-vswitchd.pid --detach --log-file=$RUN/vswitchd.log"
trap 'kill $(cat "$RUN"/ovs-vswitchd.pid) $(cat "$RUN"/ovsdb-server.pid)' EXIT
NS=$(cat "$RUN/ovs-vswitchd.pid")
vsctl() { ovs-vsctl --db=$DB -t 5 "$@"; }
ofctl() { ovs-ofctl "$@"; }
VM=tap3f1c0b2a-9d DHCP=tapd41e8c07-55 OTHER=tap7b2e9f40-1a
for dev in $VM $DHCP $OTHER eth1; do nsenter -t "$NS" -n ip tuntap add dev $dev mode tap; nsenter -t "$NS" -n ip link set $dev up; done
for br in br-int br-ex br-tun; do
  vsctl add-br $br -- set bridge $br datapath_type=netdev fail_mode=secure protocols=OpenFlow10,OpenFlow13,OpenFlow14
done
vsctl add-port br-int int-br-ex -- set interface int-br-ex type=patch options:peer=phy-br-ex
vsctl add-port br-ex phy-br-ex -- set interface phy-br-ex type=patch options:peer=int-br-ex
vsctl add-port br-ex eth1
vsctl add-port br-int patch-tun -- set interface patch-tun type=patch options:peer=patch-int
vsctl add-port br-tun patch-int -- set interface patch-int type=patch options:peer=patch-tun
vsctl add-port br-tun vxlan-c0000202 -- set interface vxlan-c0000202 type=vxlan \
  options:remote_ip=192.0.2.2 options:local_ip=192.0.2.1 options:key=flow options:in_key=flow options:out_key=flow
vsctl add-port br-int $VM tag=1 -- set interface $VM external_ids:iface-id=3f1c0b2a-9d4e-4a51-b0f7-2c1d8e6a9b30 \
  external_ids:attached-mac=fa:16:3e:5c:1d:7e external_ids:iface-status=active external_ids:vm-uuid=8c0f6a43-2d51-4e7b-9a3c-51f0d2e7b8a1
vsctl add-port br-int $DHCP tag=1 -- set interface $DHCP external_ids:iface-id=d41e8c07-55a2-4c3e-8f61-0b9a7d2c4e15 \
  external_ids:attached-mac=fa:16:3e:21:9a:04 external_ids:iface-status=active
vsctl add-port br-int $OTHER tag=1 -- set interface $OTHER external_ids:iface-id=7b2e9f40-1a6c-4d83-95e2-c40f8b1d6a27 \
  external_ids:attached-mac=fa:16:3e:8e:42:b9 external_ids:iface-status=active external_ids:vm-uuid=e2b7c9d0-4f13-4a86-b2e5-93a1c6d0f4b7
flows_int() {
  ofctl add-flows br-int - <<FLOWS
table=0,priority=65535,vlan_tci=0x0fff/0x1fff,actions=drop
table=0,priority=3,in_port=int-br-ex,vlan_tci=0x0000/0x1fff,actions=mod_vlan_vid:1,resubmit(,59)
table=0,priority=2,in_port=int-br-ex,actions=drop
table=0,priority=10,icmp6,in_port=$VM,icmp_type=136,actions=resubmit(,24)
table=0,priority=10,arp,in_port=$VM,actions=resubmit(,24)
table=0,priority=9,in_port=$VM,actions=resubmit(,25)
table=0,priority=10,arp,in_port=$OTHER,actions=resubmit(,24)
table=0,priority=9,in_port=$OTHER,actions=resubmit(,25)
table=0,priority=0,actions=resubmit(,59)
table=23,priority=0,actions=drop
table=24,priority=2,arp,in_port=$VM,arp_spa=10.0.0.12,actions=resubmit(,25)
table=24,priority=2,arp,in_port=$OTHER,arp_spa=10.0.0.27,actions=resubmit(,25)
table=24,priority=0,actions=drop
table=25,priority=2,in_port=$VM,dl_src=fa:16:3e:5c:1d:7e,actions=resubmit(,59)
table=25,priority=2,in_port=$OTHER,dl_src=fa:16:3e:8e:42:b9,actions=resubmit(,59)
table=59,priority=0,actions=resubmit(,60)
table=60,priority=3,actions=NORMAL
table=61,priority=3,actions=NORMAL
FLOWS
}
flows_ex() {
  ofctl add-flows br-ex - <<FLOWS
table=0,priority=4,in_port=phy-br-ex,dl_vlan=1,actions=strip_vlan,NORMAL
table=0,priority=2,in_port=phy-br-ex,actions=drop
table=0,priority=0,actions=NORMAL
FLOWS
}
flows_tun() {
  ofctl add-flows br-tun - <<FLOWS
table=0,priority=1,in_port=patch-int,actions=resubmit(,2)
table=0,priority=1,in_port=vxlan-c0000202,actions=resubmit(,4)
table=0,priority=0,actions=drop
table=2,priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,20)
table=2,priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,22)
table=4,priority=1,tun_id=0x3e9,actions=mod_vlan_vid:1,resubmit(,10)
table=4,priority=0,actions=drop
table=10,priority=1,actions=learn(table=20,hard_timeout=300,priority=1,cookie=0x0,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]),output:patch-int
table=20,priority=0,actions=resubmit(,22)
table=22,priority=1,dl_vlan=1,actions=strip_vlan,load:0x3e9->NXM_NX_TUN_ID[],output:vxlan-c0000202
table=22,priority=0,actions=drop
FLOWS
}
capture() {  # $1: case name
  local dir="$OUT/$1/sos_commands/openvswitch"; mkdir -p "$dir"; echo "$1" > "$OUT/$1/hostname"
  vsctl show > "$dir/ovs-vsctl_-t_5_show"; vsctl list-br > "$dir/ovs-vsctl_-t_5_list-br"
  for br in br-int br-ex br-tun; do
    ofctl dump-flows $br > "$dir/ovs-ofctl_dump-flows_$br"; ofctl show $br > "$dir/ovs-ofctl_show_$br"
    ofctl -O OpenFlow13 dump-flows $br > "$dir/ovs-ofctl_-O_OpenFlow13_dump-flows_$br"
  done
}
flows_int; flows_ex; flows_tun
capture healthy
ofctl del-flows br-int "in_port=$OTHER"  # port_dead(): the agent could not wire the port (no spoofing flows either)
vsctl set port $OTHER tag=4095
ofctl add-flow br-int "table=0,priority=2,in_port=$OTHER,actions=drop"
capture port-dead
ofctl del-flows br-int "in_port=$OTHER"; vsctl set port $OTHER tag=1; flows_int
ofctl del-flows br-ex
capture br-ex-flows-lost
