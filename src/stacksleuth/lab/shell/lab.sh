#!/bin/bash
# stacksleuth lab: an all-in-one OpenStack Zed from Debian 12 packages, on a machine without systemd.
#
#   lab.sh up      install (once), configure (once), start every daemon, wait for the compute node
#   lab.sh start   start every daemon (after a new session on the same machine)
#   lab.sh stop    stop every daemon the lab started
#   lab.sh down    stop, delete the lab's servers and network devices, purge packages and state
#
# Every daemon listens on 127.0.0.1. State lives in $LAB_STATE (default /var/lib/stacksleuth-lab).
# Called by `stacksleuth lab ...`; the Python side checks root and Debian before running it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
STATE=${LAB_STATE:-/var/lib/stacksleuth-lab}
mkdir -p "$STATE"
LOG=$STATE/setup.log
say() { echo "[lab $(date +%T)] $*"; }

DB_PASS=labdb RABBIT_PASS=labrabbit ADMIN_PASS=labadmin SERVICE_PASS=labservice
DBURL="mysql+pymysql://os:$DB_PASS@127.0.0.1"
RMQ="rabbit://openstack:$RABBIT_PASS@127.0.0.1:5672/"
OPENRC=$STATE/admin-openrc

API_SERVICES="keystone glance-api placement-api nova-api nova-api-metadata nova-conductor nova-scheduler nova-compute
              neutron-api neutron-rpc-server neutron-linuxbridge-agent neutron-dhcp-agent neutron-metadata-agent
              cinder-api cinder-scheduler cinder-volume"
META_SECRET=labmetadata
VG=cinder-volumes VG_SIZE=2G
PACKAGES="crudini mariadb-server python3-pymysql rabbitmq-server keystone glance placement-api
          nova-api nova-conductor nova-scheduler nova-compute nova-compute-qemu
          neutron-server neutron-linuxbridge-agent neutron-dhcp-agent neutron-metadata-agent haproxy
          cinder-api cinder-scheduler cinder-volume tgt lvm2 open-iscsi
          libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
          uwsgi uwsgi-plugin-python3 python3-openstackclient"

ini() { crudini --set "$@"; }

missing_packages() {
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

install_packages() {
  local missing; missing=$(missing_packages)
  [ -f "$STATE/installed" ] && [ -z "$missing" ] && return 0
  say "apt-get update + install (~560 MB of .debs, 2-5 min): $(echo $missing | wc -w) packages"
  # what was there before the first install, so that `down` purges exactly what the lab added
  [ -f "$STATE/packages-before" ] || dpkg-query -W -f='${Package}\n' | sort > "$STATE/packages-before"
  apt-get update -q >>"$LOG" 2>&1
  apt-get install -y -q debconf-utils >>"$LOG" 2>&1
  # no package may configure a database, keystone or rabbit by itself
  debconf-set-selections <<'SEL'
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
glance-common glance/configure_db boolean false
glance-common glance/configure_rabbit boolean false
glance-common glance/configure_ksat boolean false
glance-api glance/configure_api-endpoint boolean false
placement-common placement/configure_db boolean false
placement-common placement/configure_ksat boolean false
placement-api placement/configure_api-endpoint boolean false
nova-common nova/configure_db boolean false
nova-common nova/configure_rabbit boolean false
nova-common nova/configure_ksat boolean false
nova-common nova/configure_neutron boolean false
nova-common nova/configure_placement boolean false
nova-common nova/my-ip string 127.0.0.1
nova-api novaapi/configure_db boolean false
nova-api nova/configure_api-endpoint boolean false
neutron-common neutron/configure_nova boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-common neutron/configure_ksat boolean false
neutron-metadata-agent neutron-metadata/configure boolean false
cinder-common cinder/configure_db boolean false
cinder-common cinder/configure_rabbit boolean false
cinder-common cinder/configure_ksat boolean false
cinder-common cinder/volume_group string cinder-volumes
cinder-api cinder/configure_api-endpoint boolean false
SEL
  # postinst scripts must not start half-configured daemons
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  # shellcheck disable=SC2086
  apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    -o Dpkg::Options::=--force-confmiss $missing >>"$LOG" 2>&1
  rm -f /usr/sbin/policy-rc.d
  dpkg-query -W -f='${Package}\n' | sort | comm -13 "$STATE/packages-before" - > "$STATE/packages-added"
  touch "$STATE/installed"
}

host_fixes() {
  # a re-install keeps the users but not the ownership of their state directories
  for u in nova glance keystone placement neutron cinder; do [ -d /var/lib/$u ] && chown -R $u:$u /var/lib/$u; done
  # uwsgi: 8-16 processes x 32 threads by default is far too much for two cores; no AppArmor here
  for f in /etc/keystone/keystone-uwsgi.ini /etc/placement/placement-api-uwsgi.ini \
           /etc/nova/nova-api-uwsgi.ini /etc/neutron/neutron-api-uwsgi.ini \
           /etc/nova/nova-api-metadata-uwsgi.ini /etc/cinder/cinder-api-uwsgi.ini; do
    [ -f $f ] || continue
    sed -i -e 's/^processes = .*/processes = 2/' -e 's/^threads = .*/threads = 4/' \
           -e 's/^plugins = python3,apparmor/plugins = python3/' -e 's/^apparmor-profile/#apparmor-profile/' $f
  done
  sed -i 's/^processes = .*/processes = 1/' /etc/neutron/neutron-api-uwsgi.ini
  # the init scripts bind uwsgi to ":PORT"; /etc/default/openstack is sourced afterwards
  grep -q stacksleuth-lab /etc/default/openstack 2>/dev/null || cat >> /etc/default/openstack <<'X'
# stacksleuth-lab: API servers on loopback only
DAEMON_ARGS="$(echo "$DAEMON_ARGS" | sed 's/--http-socket :/--http-socket 127.0.0.1:/')"
X
  # mariadb: loopback, and a log file (mysqld_safe's syslog option would add --skip-log-error)
  mkdir -p /var/log/mysql && chown mysql:adm /var/log/mysql
  printf '[mysqld]\nbind-address = 127.0.0.1\nlog_error = /var/log/mysql/error.log\n[mysqld_safe]\nskip_syslog\nlog_error = /var/log/mysql/error.log\n' \
    > /etc/mysql/mariadb.conf.d/99-stacksleuth-lab.cnf
  # rabbitmq, epmd and the erlang distribution port on loopback
  grep -q stacksleuth-lab /etc/rabbitmq/rabbitmq-env.conf || cat >> /etc/rabbitmq/rabbitmq-env.conf <<'X'
# stacksleuth-lab
NODE_IP_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS=127.0.0.1
X
  # libvirtd: polkit needs D-Bus, which is not running; use the libvirt group instead
  grep -q stacksleuth-lab /etc/libvirt/libvirtd.conf || cat >> /etc/libvirt/libvirtd.conf <<'X'
# stacksleuth-lab: no polkit/dbus here
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
X
}

start_infra() {
  export ERL_EPMD_ADDRESS=127.0.0.1
  /etc/init.d/mariadb status >/dev/null 2>&1 || /etc/init.d/mariadb start >>"$LOG" 2>&1
  /etc/init.d/rabbitmq-server status >/dev/null 2>&1 || /etc/init.d/rabbitmq-server start >>"$LOG" 2>&1
  mkdir -p /var/log/libvirt/qemu
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
  # the provider "NIC": a veth whose peer goes nowhere (dummy links are not available here)
  ip link show lab0 >/dev/null 2>&1 || ip link add lab0 type veth peer name lab0p
  ip link set lab0 up; ip link set lab0p up
  start_volumes
}

lvm_noact() { LVM_SUPPRESS_FD_WARNINGS=1 "$@" --config 'global { activation = 0 }' >>"$LOG" 2>&1; }

start_volumes() {
  # cinder's LVM backend: a volume group on a loop device over a sparse file. This kernel has no
  # device-mapper, so LVs can be created (metadata) but never activated: cinder's own lvm.conf
  # (/etc/cinder/lvm.conf) sets activation = 0. tgtd is a userspace iSCSI target (no kernel target needed).
  [ -f "$STATE/$VG.img" ] || truncate -s $VG_SIZE "$STATE/$VG.img"
  losetup -j "$STATE/$VG.img" | grep -q . || losetup -f "$STATE/$VG.img"
  local dev; dev=$(losetup -j "$STATE/$VG.img" | head -1 | cut -d: -f1)
  if ! LVM_SUPPRESS_FD_WARNINGS=1 vgs $VG >/dev/null 2>&1; then
    lvm_noact pvcreate -y "$dev"; lvm_noact vgcreate $VG "$dev"
  fi
  if command -v tgtd >/dev/null && ! pgrep -x tgtd >/dev/null; then
    tgtd --iscsi portal=127.0.0.1:3260 >>"$LOG" 2>&1
  fi
}

wait_http() { # port: until something answers HTTP there (uwsgi apps load for ~5 s)
  for _ in $(seq 60); do curl -s -o /dev/null -m 3 http://127.0.0.1:$1/ && return 0; sleep 1; done
  say "warning: nothing answers on 127.0.0.1:$1"
}

start_openstack() {
  for s in $API_SERVICES; do
    [ -x /etc/init.d/$s ] || continue
    # nova-conductor/scheduler exit at start when placement does not answer yet
    [ $s = nova-conductor ] && { wait_http 5000; wait_http 8778; }
    # not `status`: for the uwsgi services it looks for any uwsgi process (keystone's counts); start is
    # idempotent (start-stop-daemon --test on the pid file)
    /etc/init.d/$s start >>"$LOG" 2>&1 || say "warning: $s did not start"
  done
}

configure() {
  [ -f "$STATE/configured" ] && return 0
  say "databases, rabbit user"
  rabbitmqctl add_user openstack $RABBIT_PASS >/dev/null 2>&1 || true
  rabbitmqctl set_permissions openstack ".*" ".*" ".*" >/dev/null
  mysql <<SQL
CREATE DATABASE IF NOT EXISTS keystone; CREATE DATABASE IF NOT EXISTS glance; CREATE DATABASE IF NOT EXISTS placement;
CREATE DATABASE IF NOT EXISTS nova_api; CREATE DATABASE IF NOT EXISTS nova; CREATE DATABASE IF NOT EXISTS nova_cell0;
CREATE DATABASE IF NOT EXISTS neutron;
CREATE USER IF NOT EXISTS 'os'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'os'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON *.* TO 'os'@'localhost'; GRANT ALL PRIVILEGES ON *.* TO 'os'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

  say "keystone"
  local C=/etc/keystone/keystone.conf
  ini $C database connection "$DBURL/keystone"
  ini $C token provider fernet
  su -s /bin/sh keystone -c "keystone-manage db_sync" >>"$LOG" 2>&1
  keystone-manage fernet_setup --keystone-user keystone --keystone-group keystone >>"$LOG" 2>&1
  keystone-manage credential_setup --keystone-user keystone --keystone-group keystone >>"$LOG" 2>&1
  keystone-manage bootstrap --bootstrap-password $ADMIN_PASS \
    --bootstrap-admin-url http://127.0.0.1:5000/v3/ --bootstrap-internal-url http://127.0.0.1:5000/v3/ \
    --bootstrap-public-url http://127.0.0.1:5000/v3/ --bootstrap-region-id RegionOne >>"$LOG" 2>&1
  /etc/init.d/keystone start >>"$LOG" 2>&1
  cat > "$OPENRC" <<X
export OS_USERNAME=admin OS_PASSWORD=$ADMIN_PASS OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default OS_AUTH_URL=http://127.0.0.1:5000/v3 OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
# python3-openstackclient 6.0.0: '--nic none' needs compute microversion >= 2.37
export OS_COMPUTE_API_VERSION=2.74
X
  . "$OPENRC"
  for _ in $(seq 60); do curl -sf http://127.0.0.1:5000/v3 >/dev/null && break; sleep 1; done
  openstack project show service >/dev/null 2>&1 || openstack project create --domain default service >/dev/null
  for u in glance placement nova neutron; do
    openstack user show $u >/dev/null 2>&1 || openstack user create --domain default --password $SERVICE_PASS $u >/dev/null
    openstack role add --project service --user $u admin
  done
  for s in "glance image 9292" "placement placement 8778" "nova compute 8774/v2.1" "neutron network 9696"; do
    set -- $s
    openstack service show $2 >/dev/null 2>&1 && continue
    openstack service create --name $1 $2 >/dev/null
    for i in public internal admin; do openstack endpoint create --region RegionOne $2 $i http://127.0.0.1:$3 >/dev/null; done
  done

  authtoken() {
    ini $1 keystone_authtoken auth_url http://127.0.0.1:5000
    ini $1 keystone_authtoken www_authenticate_uri http://127.0.0.1:5000
    ini $1 keystone_authtoken region_name RegionOne
    ini $1 keystone_authtoken password $SERVICE_PASS
  }

  say "glance (file store)"
  C=/etc/glance/glance-api.conf
  ini $C DEFAULT bind_host 127.0.0.1
  ini $C DEFAULT workers 1
  ini $C database connection "$DBURL/glance"
  authtoken $C
  ini $C paste_deploy flavor keystone
  ini $C glance_store stores file,http
  ini $C glance_store default_store file
  su -s /bin/sh glance -c "glance-manage db_sync" >>"$LOG" 2>&1

  say "placement"
  C=/etc/placement/placement.conf
  ini $C placement_database connection "$DBURL/placement"
  ini $C api auth_strategy keystone
  authtoken $C
  su -s /bin/sh placement -c "placement-manage db sync" >>"$LOG" 2>&1

  say "nova"
  C=/etc/nova/nova.conf
  ini $C DEFAULT my_ip 127.0.0.1
  ini $C DEFAULT transport_url "$RMQ"
  ini $C DEFAULT enabled_apis osapi_compute
  ini $C DEFAULT osapi_compute_workers 1
  ini $C DEFAULT log_dir /var/log/nova
  ini $C api auth_strategy keystone
  ini $C api_database connection "$DBURL/nova_api"
  ini $C database connection "$DBURL/nova"
  authtoken $C
  # Debian's template ships 'username = =' in [placement]
  ini $C placement auth_url http://127.0.0.1:5000/v3
  ini $C placement username placement
  ini $C placement password $SERVICE_PASS
  ini $C placement region_name RegionOne
  ini $C glance api_servers http://127.0.0.1:9292
  ini $C cinder os_region_name RegionOne
  for k in "send_service_user_token true" "auth_url http://127.0.0.1:5000/v3" "auth_type password" \
           "project_domain_name Default" "user_domain_name Default" "project_name service" \
           "username nova" "password $SERVICE_PASS"; do ini $C service_user $k; done
  for k in "auth_url http://127.0.0.1:5000" "auth_type password" "project_name service" \
           "project_domain_name Default" "user_domain_name Default" "username neutron" \
           "password $SERVICE_PASS" "region_name RegionOne" "service_metadata_proxy false"; do ini $C neutron $k; done
  crudini --del $C neutron default_floating_pool || true
  # nova-api and neutron-api run under uwsgi, where oslo.messaging's heartbeat greenthread does not run
  # while idle: rabbit drops them ("missed heartbeats from client") and the next boot's RPC cast hangs
  # for minutes. On a single loopback host heartbeats buy nothing: turn them off.
  ini $C oslo_messaging_rabbit heartbeat_timeout_threshold 0
  ini $C conductor workers 1
  ini $C scheduler workers 1
  ini $C scheduler discover_hosts_in_cells_interval 30
  ini $C vnc enabled false
  ini $C spice enabled false          # Debian enables SPICE on 0.0.0.0:59xx per guest
  # /dev/kvm may work although cpuinfo hides vmx/svm (nested KVM); else TCG
  local VT=qemu
  if [ -c /dev/kvm ] && qemu-system-x86_64 -accel kvm -machine none -display none -S -daemonize \
        -pidfile "$STATE/kvmprobe.pid" 2>/dev/null; then kill "$(cat "$STATE/kvmprobe.pid")"; VT=kvm; fi
  ini /etc/nova/nova-compute.conf libvirt virt_type $VT
  ini /etc/nova/nova-compute.conf libvirt cpu_mode none
  su -s /bin/sh nova -c "nova-manage api_db sync" >>"$LOG" 2>&1
  su -s /bin/sh nova -c "nova-manage cell_v2 map_cell0" >>"$LOG" 2>&1
  su -s /bin/sh nova -c "nova-manage cell_v2 list_cells" 2>/dev/null | grep -q cell1 || \
    su -s /bin/sh nova -c "nova-manage cell_v2 create_cell --name=cell1 --verbose" >>"$LOG" 2>&1
  su -s /bin/sh nova -c "nova-manage db sync" >>"$LOG" 2>&1

  say "neutron (ML2 flat provider network, linuxbridge + DHCP agents)"
  C=/etc/neutron/neutron.conf
  ini $C DEFAULT core_plugin ml2
  ini $C DEFAULT service_plugins ''
  ini $C DEFAULT transport_url "$RMQ"
  ini $C DEFAULT interface_driver linuxbridge
  ini $C DEFAULT api_workers 1
  ini $C DEFAULT rpc_workers 1
  ini $C DEFAULT rpc_state_report_workers 1
  ini $C database connection "$DBURL/neutron"
  ini $C experimental linuxbridge true
  ini $C oslo_messaging_rabbit heartbeat_timeout_threshold 0   # see nova above
  authtoken $C
  for k in "auth_url http://127.0.0.1:5000" "project_name service" "username nova" \
           "password $SERVICE_PASS" "region_name RegionOne"; do ini $C nova $k; done
  local M=/etc/neutron/plugins/ml2/ml2_conf.ini
  ini $M ml2 type_drivers flat
  ini $M ml2 tenant_network_types ''
  ini $M ml2 mechanism_drivers linuxbridge
  ini $M ml2 extension_drivers port_security
  ini $M ml2_type_flat flat_networks provider
  ini $M securitygroup enable_ipset False
  local L=/etc/neutron/plugins/ml2/linuxbridge_agent.ini
  ini $L linux_bridge physical_interface_mappings provider:lab0
  ini $L vxlan enable_vxlan false
  ini $L securitygroup enable_security_group true
  ini $L securitygroup firewall_driver iptables
  local H=/etc/neutron/dhcp_agent.ini
  ini $H DEFAULT interface_driver linuxbridge
  ini $H DEFAULT dhcp_driver neutron.agent.linux.dhcp.Dnsmasq
  ini $H DEFAULT enable_isolated_metadata false
  su -s /bin/sh neutron -c "neutron-db-manage --config-file $C --config-file $M upgrade head" >>"$LOG" 2>&1
  touch "$STATE/configured"
}

restart_running() { # restart those of these daemons that run (their configuration changed)
  for s in "$@"; do
    [ -x /etc/init.d/$s ] || continue
    if [ -n "$(ls /run/*/$s.pid 2>/dev/null)" ]; then /etc/init.d/$s restart >>"$LOG" 2>&1 || say "warning: $s did not restart"; fi
  done
}

configure_cinder() {
  [ -f "$STATE/configured-cinder" ] && return 0
  say "cinder (LVM on a loop device, tgt iSCSI target)"
  mysql -e "CREATE DATABASE IF NOT EXISTS cinder"
  . "$OPENRC"
  openstack user show cinder >/dev/null 2>&1 || openstack user create --domain default --password $SERVICE_PASS cinder >/dev/null
  openstack role add --project service --user cinder admin
  if ! openstack service show volumev3 >/dev/null 2>&1; then
    openstack service create --name cinderv3 volumev3 >/dev/null
    for i in public internal admin; do
      openstack endpoint create --region RegionOne volumev3 $i 'http://127.0.0.1:8776/v3/%(project_id)s' >/dev/null
    done
  fi
  local C=/etc/cinder/cinder.conf
  ini $C DEFAULT transport_url "$RMQ"
  ini $C DEFAULT auth_strategy keystone
  ini $C DEFAULT my_ip 127.0.0.1
  ini $C DEFAULT log_dir /var/log/cinder
  ini $C DEFAULT osapi_volume_listen 127.0.0.1
  ini $C DEFAULT osapi_volume_workers 1
  ini $C DEFAULT glance_api_servers http://127.0.0.1:9292
  ini $C DEFAULT enabled_backends lvm
  ini $C database connection "$DBURL/cinder"
  ini $C oslo_concurrency lock_path /var/lib/cinder/tmp
  ini $C oslo_messaging_rabbit heartbeat_timeout_threshold 0   # see nova
  ini $C keystone_authtoken auth_url http://127.0.0.1:5000
  ini $C keystone_authtoken www_authenticate_uri http://127.0.0.1:5000
  ini $C keystone_authtoken region_name RegionOne
  for k in "auth_type password" "project_domain_name Default" "user_domain_name Default" \
           "project_name service" "username cinder" "password $SERVICE_PASS"; do ini $C keystone_authtoken $k; done
  for k in "volume_driver cinder.volume.drivers.lvm.LVMVolumeDriver" "volume_group $VG" \
           "volume_backend_name lvm" "lvm_type default" "volume_clear none" "target_protocol iscsi" \
           "target_helper tgtadm" "target_ip_address 127.0.0.1" "lvm_conf_file /etc/cinder/lvm.conf"; do
    ini $C lvm $k
  done
  # no device-mapper in this kernel: LVs exist as metadata only (see start_volumes)
  printf 'global {\n  activation = 0\n}\n' > /etc/cinder/lvm.conf
  mkdir -p /etc/tgt/conf.d /var/lib/cinder/volumes /var/lib/cinder/tmp && chown -R cinder:cinder /var/lib/cinder
  echo 'include /var/lib/cinder/volumes/*' > /etc/tgt/conf.d/cinder.conf
  su -s /bin/sh cinder -c "cinder-manage db sync" >>"$LOG" 2>&1
  ini /etc/nova/nova.conf cinder os_region_name RegionOne
  ini /etc/nova/nova.conf cinder catalog_info volumev3:cinderv3:publicURL
  restart_running nova-api nova-compute
  touch "$STATE/configured-cinder"
}

configure_metadata() {
  [ -f "$STATE/configured-metadata" ] && return 0
  say "metadata: nova's metadata API, neutron-metadata-agent, the DHCP agent's isolated metadata proxy"
  local C=/etc/nova/nova.conf
  ini $C DEFAULT metadata_workers 1
  ini $C neutron service_metadata_proxy true
  ini $C neutron metadata_proxy_shared_secret $META_SECRET
  local A=/etc/neutron/metadata_agent.ini
  ini $A DEFAULT nova_metadata_host 127.0.0.1
  ini $A DEFAULT nova_metadata_port 8775
  ini $A DEFAULT metadata_proxy_shared_secret $META_SECRET
  ini $A DEFAULT metadata_workers 1
  ini $A oslo_messaging_rabbit heartbeat_timeout_threshold 0
  # the provider network has no router: the DHCP agent serves 169.254.169.254 (haproxy in qdhcp-<net>)
  # and hands the guest a host route to it (DHCP option 121)
  ini /etc/neutron/dhcp_agent.ini DEFAULT enable_isolated_metadata true
  restart_running nova-api nova-compute neutron-dhcp-agent
  touch "$STATE/configured-metadata"
}

wait_compute() {
  . "$OPENRC"
  say "waiting for nova-compute to register (the first start takes ~1-2 min)"
  for _ in $(seq 90); do openstack hypervisor list -f value 2>/dev/null | grep -q ' up$' && break; sleep 4; done
  su -s /bin/sh nova -c "nova-manage cell_v2 discover_hosts --verbose" >>"$LOG" 2>&1
  openstack hypervisor list -f value | grep -q ' up$' || { say "error: nova-compute did not come up"; exit 1; }
}

resources() {
  . "$OPENRC"
  [ -f "$STATE/tiny.qcow2" ] || qemu-img create -f qcow2 "$STATE/tiny.qcow2" 64M >/dev/null
  openstack image show tiny >/dev/null 2>&1 || \
    openstack image create --disk-format qcow2 --container-format bare --public --file "$STATE/tiny.qcow2" tiny >/dev/null
  openstack flavor show m1.nano >/dev/null 2>&1 || openstack flavor create --ram 64 --vcpus 1 --disk 1 m1.nano >/dev/null
  openstack network show provider >/dev/null 2>&1 || \
    openstack network create --share --provider-physical-network provider --provider-network-type flat provider >/dev/null
  openstack subnet show provider-sub >/dev/null 2>&1 || \
    openstack subnet create --network provider --subnet-range 203.0.113.0/24 --gateway 203.0.113.1 \
      --allocation-pool start=203.0.113.100,end=203.0.113.200 provider-sub >/dev/null
}

stop_all() {
  for s in cinder-volume cinder-scheduler cinder-api neutron-metadata-agent neutron-dhcp-agent \
           neutron-linuxbridge-agent neutron-rpc-server neutron-api nova-compute nova-scheduler nova-conductor \
           nova-api-metadata nova-api placement-api glance-api keystone; do
    [ -x /etc/init.d/$s ] && { /etc/init.d/$s stop >/dev/null 2>&1 || true; }
  done
  # tgtd: a graceful shutdown through its own control socket
  pgrep -x tgtd >/dev/null && { tgtadm --op delete --mode system >/dev/null 2>&1 || true; }
  for p in /run/libvirtd.pid /run/virtlogd.pid; do [ -f $p ] && { kill "$(cat $p)" 2>/dev/null || true; }; done
  [ -x /etc/init.d/rabbitmq-server ] && { /etc/init.d/rabbitmq-server stop >/dev/null 2>&1 || true; }
  [ -x /etc/init.d/mariadb ] && { /etc/init.d/mariadb stop >/dev/null 2>&1 || true; }
  return 0
}

down() {
  if [ -f "$OPENRC" ] && [ -f "$STATE/configured" ]; then
    . "$OPENRC"
    for id in $(openstack server list --all-projects -f value -c ID 2>/dev/null); do openstack server delete --wait "$id" || true; done
  fi
  stop_all
  sleep 2
  for p in $(pgrep -f 'dnsmasq .*/var/lib/neutron/dhcp/' || true); do kill "$p" || true; done
  for p in $(pgrep -f 'haproxy -f /var/lib/neutron/ns-metadata-proxy/' || true); do kill "$p" || true; done
  for p in $(pgrep -x epmd || true); do kill "$p" || true; done
  for n in $(ip netns list | awk '/^qdhcp-/{print $1}'); do ip netns del "$n"; done
  for l in $(ip -br link | awk '{print $1}' | grep -E '^(brq|tap)' | cut -d@ -f1); do ip link del "$l" 2>/dev/null || true; done
  ip link del lab0 2>/dev/null || true
  for d in $(losetup -j "$STATE/$VG.img" 2>/dev/null | cut -d: -f1); do losetup -d "$d" || true; done
  iptables-save | grep -v neutron | iptables-restore || true
  if [ "${LAB_PURGE:-1}" = 1 ] && [ -f "$STATE/installed" ]; then
    say "purging packages"
    if [ -s "$STATE/packages-added" ]; then   # exactly what `up` added (never sudo: its prerm refuses)
      # shellcheck disable=SC2046
      apt-get purge -y $(grep -vx sudo "$STATE/packages-added") >>"$LOG" 2>&1 || say "purge: see $LOG"
    else
      # shellcheck disable=SC2086
      apt-get purge -y $PACKAGES >>"$LOG" 2>&1 || say "purge: see $LOG"
      apt-get autoremove --purge -y >>"$LOG" 2>&1 || true
    fi
    for p in keystone glance-common glance-api placement-common placement-api nova-common nova-api \
             neutron-common neutron-metadata-agent cinder-common cinder-api mariadb-server; do echo PURGE | debconf-communicate $p >/dev/null 2>&1 || true; done
    rm -rf /etc/nova /etc/neutron /etc/glance /etc/keystone /etc/placement /etc/libvirt /etc/rabbitmq /etc/cinder \
       /var/lib/cinder /var/log/cinder /etc/tgt/conf.d/cinder.conf \
       /var/lib/nova /var/lib/neutron /var/lib/glance /var/lib/keystone /var/lib/placement /var/lib/mysql \
       /var/lib/rabbitmq /var/lib/libvirt /var/log/nova /var/log/neutron /var/log/glance /var/log/keystone \
       /var/log/placement /var/log/libvirt /var/log/rabbitmq /var/log/mysql /etc/default/openstack
    cp "$LOG" /tmp/stacksleuth-lab-down.log 2>/dev/null || true
    rm -rf "$STATE"
  fi
}

case "${1:-up}" in
  up)
    install_packages
    host_fixes
    start_infra
    configure
    configure_cinder
    configure_metadata
    start_openstack
    wait_compute
    resources
    touch "$STATE/up"
    say "lab is up"
    ;;
  start) start_infra; start_openstack; wait_compute ;;
  stop) stop_all ;;
  down) down ;;
  *) echo "usage: lab.sh up|start|stop|down" >&2; exit 2 ;;
esac
