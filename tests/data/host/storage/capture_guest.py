"""Capture real multipath, bonding and iSCSI outputs for tests/data/host/storage/, in a throw-away QEMU guest.

This machine's kernel has no device-mapper, bonding or iSCSI transport, so the tools run in a guest instead:
Debian 12's cloud kernel and modules, busybox, multipath-tools 0.9.4 and liburcu (apt-get download, unpacked
here, nothing installed), and this host's iproute2 and open-iscsi binaries with their libraries. QEMU (TCG,
no network) gives the guest one disk image on two virtio-scsi controllers with the same serial (two paths to one
LUN) and a second disk on one controller. The guest's init (GUEST_INIT) builds a bond in 802.3ad mode over
dummy NICs and iSCSI interface and node records (iscsiadm -o new: no login, no target), runs `multipath -ll`
before and after one path is set offline and read through, and prints every capture between markers on its
serial console; this script lays them out as host roots under tests/data/host/storage/<case>/.

Usage (root, ~2 min): python3 tests/data/host/storage/capture_guest.py SCRATCH_DIR
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parent
CASES = ("multipath-healthy", "multipath-no-multipathd", "multipath-path-failed", "iscsi-lacp", "iscsi-same-subnet",
         "iscsi-separate-subnets")
PACKAGES = ("linux-image-6.1.0-56-cloud-amd64", "busybox-static", "multipath-tools", "liburcu8")
MODULES = ("virtio_pci", "virtio_scsi", "sd_mod", "dm_multipath", "dm_service_time", "bonding", "dummy", "iscsi_tcp")
HOST_BINARIES = ("/usr/sbin/ip", "/usr/sbin/iscsiadm", "/bin/udevadm")
# udevd fills the udev database multipath-tools reads (it only takes "initialized" devices, with ID_SERIAL)
UDEV = ("/lib/udev/scsi_id", "/lib/udev/rules.d/50-udev-default.rules", "/lib/udev/rules.d/60-block.rules",
        "/lib/udev/rules.d/60-persistent-storage.rules")
MULTIPATH_CONF = """defaults {
    user_friendly_names yes
    find_multipaths no
    path_grouping_policy multibus
}
blacklist {
}
"""
GUEST_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mkdir -p /run/lock/iscsi /tmp /var/lock /etc/multipath
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu PATH=/usr/local/sbin:/bin
for m in MODULES; do [ $m = dummy ] || modprobe $m; done  # dummy below, with its parameter
modprobe dummy numdummies=6
sleep 3
cap() { echo "=== BEGIN $1"; shift; "$@" 2>&1 | cat; echo "=== END"; }  # | cat: not a tty, no colours
/lib/systemd/systemd-udevd --daemon --resolve-names=never
timeout 30 udevadm trigger --action=add; timeout 60 udevadm settle -t 50
export DM_DISABLE_UDEV=1  # libdevmapper would wait for udev rules (dmsetup udevcomplete) this guest lacks
timeout 120 multipath -v2 >/dev/null 2>&1
cap multipath_-ll.no-multipathd multipath -ll
multipathd -d -s >/dev/null 2>&1 &  # the daemon checks paths from now on
sleep 3
cap multipath_-ll.healthy multipath -ll
for d in /sys/block/sd*; do echo "$(cat $d/device/wwid) $(basename $d)"; done | sort > /tmp/paths
FAIL=$(awk 'seen[$1]++ {print $2; exit}' /tmp/paths)   # the second path of the LUN that has two
echo offline > /sys/block/$FAIL/device/state
for dm in /dev/dm-*; do dd if=$dm of=/dev/null bs=4096 count=64 iflag=direct 2>/dev/null; done
sleep 2
cap multipath_-ll.path-failed multipath -ll
echo +bond0 > /sys/class/net/bonding_masters
echo 802.3ad > /sys/class/net/bond0/bonding/mode
echo 100 > /sys/class/net/bond0/bonding/miimon
echo layer3+4 > /sys/class/net/bond0/bonding/xmit_hash_policy
echo +dummy0 > /sys/class/net/bond0/bonding/slaves; echo +dummy1 > /sys/class/net/bond0/bonding/slaves
/usr/local/sbin/ip link set bond0 up; /usr/local/sbin/ip addr add 10.20.0.5/24 dev bond0
ip link set dummy2 up; ip addr add 10.30.0.5/24 dev dummy2
ip link set dummy3 up; ip addr add 10.30.0.6/24 dev dummy3
ip link set dummy4 up; ip addr add 10.40.1.5/24 dev dummy4
ip link set dummy5 up; ip addr add 10.40.2.5/24 dev dummy5
sleep 1
cap bonding_bond0 cat /proc/net/bonding/bond0
cap ip_-d_address /usr/local/sbin/ip -d address
iface() { iscsiadm -m iface -I $1 -o new >/dev/null; iscsiadm -m iface -I $1 -o update -n iface.net_ifacename -v $2 >/dev/null; }
node() { iscsiadm -m node -o new -T $1 -p $2 -I $3 >/dev/null; }
TARGET=iqn.2010-10.org.openstack:volume-0d7d2c4e-9b8a-4c41-a1f3-6e2b5d9c8f10
for case in lacp same-subnet separate-subnets; do
  rm -rf /etc/iscsi/nodes /etc/iscsi/ifaces /etc/iscsi/send_targets /etc/iscsi/static
  case $case in
    lacp) iface iface-bond bond0; node $TARGET 10.20.0.10:3260,1 iface-bond; node $TARGET 10.20.0.11:3260,1 iface-bond ;;
    same-subnet) iface iface-a dummy2; iface iface-b dummy3
                 node $TARGET 10.30.0.10:3260,1 iface-a; node $TARGET 10.30.0.11:3260,1 iface-b ;;
    separate-subnets) iface iface-a dummy4; iface iface-b dummy5
                      node $TARGET 10.40.1.10:3260,1 iface-a; node $TARGET 10.40.2.10:3260,1 iface-b ;;
  esac
  cap etc-iscsi.$case.tar.b64 sh -c 'tar -C /etc -c iscsi | base64'
done
echo "=== DONE"
poweroff -f
"""


def _cpio(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive of (path, mode, data)."""
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded + b"\0" * (-(110 + len(encoded)) % 4))
        out.write(data + b"\0" * (-len(data) % 4))
    return out.getvalue()


def _libraries(binaries: list[Path], extra: str) -> set[Path]:
    """Every shared library the binaries load (ldd, with the unpacked packages' libraries first)."""
    found: set[Path] = set()
    for binary in binaries:
        listed = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env={"LD_LIBRARY_PATH": extra}).stdout
        found |= {Path(m[1]) for m in re.finditer(r"(/\S+\.so[.\d]*)", listed)}
    return found


def _modules(root: Path, names: tuple[str, ...]) -> list[Path]:
    """The modules and everything they depend on (modules.dep), relative to lib/modules/<version>/."""
    base = next((root / "lib" / "modules").iterdir())
    deps = {}
    for line in (base / "modules.dep").read_text().splitlines():
        module, _, needs = line.partition(":")
        deps[Path(module).name.removesuffix(".ko").replace("-", "_")] = (module, needs.split())
    wanted: list[str] = []
    stack = [deps[n][0] for n in names]
    while stack:
        module = stack.pop()
        if module not in wanted:
            wanted.append(module)
            stack += deps[Path(module).name.removesuffix(".ko").replace("-", "_")][1]
    return [base / m for m in wanted]


def build(scratch: Path) -> tuple[Path, Path, Path]:
    """Kernel, initramfs and the shared disk image."""
    debs, root = scratch / "debs", scratch / "x"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "-q", *PACKAGES], cwd=debs, check=True)
    for deb in debs.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    version = next((root / "lib" / "modules").iterdir()).name
    subprocess.run(["depmod", "-b", str(root), version], check=True)  # the package leaves modules.dep to its postinst
    entries: dict[str, tuple[int, bytes]] = {}

    def add(path: str, data: bytes, mode: int = 0o100755) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), (0o40755, b""))
        entries[path.strip("/")] = (mode, data)

    add("init", GUEST_INIT.replace("MODULES", " ".join(MODULES)).encode())
    add("bin/busybox", (root / "bin" / "busybox").read_bytes())
    for module in _modules(root, MODULES):
        add(str(module.relative_to(root)), module.read_bytes(), 0o100644)
    for name in ("modules.dep", "modules.alias", "modules.symbols", "modules.builtin", "modules.order"):
        add(f"lib/modules/{version}/{name}", (root / "lib" / "modules" / version / name).read_bytes(), 0o100644)
    tools = [root / "sbin" / "multipath", root / "sbin" / "multipathd", *map(Path, HOST_BINARIES), Path(UDEV[0])]
    plugins = sorted((root / "lib" / "multipath").glob("*.so"))
    extra = ":".join(str(p) for p in (root / "lib", root / "usr" / "lib" / "x86_64-linux-gnu"))
    for tool in tools:  # before busybox's applets of the same name (ip) in PATH
        add(f"usr/local/sbin/{tool.name}", tool.read_bytes())
    add("lib/systemd/systemd-udevd", Path("/bin/udevadm").read_bytes())  # udevadm is udevd by that name
    for path in UDEV:
        add(path, Path(path).read_bytes(), 0o100755 if "rules.d" not in path else 0o100644)
    for mount_point in ("proc", "sys", "dev"):
        add(mount_point, b"", 0o40755)
    for plugin in plugins:
        add(str(plugin.relative_to(root)), plugin.read_bytes())
    for library in _libraries(tools + plugins, extra) | {Path("/lib/x86_64-linux-gnu/libgcc_s.so.1")}:  # pthread_cancel
        where = "lib64" if library.name.startswith("ld-linux") else "lib/x86_64-linux-gnu"
        add(f"{where}/{library.name}", library.resolve().read_bytes())
    add("etc/multipath.conf", MULTIPATH_CONF.encode(), 0o100644)
    for name in ("iscsid.conf", "initiatorname.iscsi"):
        add(f"etc/iscsi/{name}", Path(f"/etc/iscsi/{name}").read_bytes(), 0o100600)
    initrd = scratch / "initrd"
    initrd.write_bytes(_cpio([(name, mode, data) for name, (mode, data) in sorted(entries.items())]))
    disks = scratch / "lun0.img", scratch / "lun1.img"
    for disk in disks:
        with disk.open("wb") as image:
            image.truncate(64 * 1024 * 1024)
    return root / "boot" / f"vmlinuz-{version}", initrd, scratch


def run(kernel: Path, initrd: Path, scratch: Path) -> str:
    """Boot the guest once and return its serial console."""
    serial = scratch / "serial.log"
    lun0, lun1 = scratch / "lun0.img", scratch / "lun1.img"
    subprocess.run([
        "qemu-system-x86_64", "-accel", "tcg", "-m", "768", "-smp", "1", "-display", "none", "-no-reboot", "-nic", "none",
        "-kernel", str(kernel), "-initrd", str(initrd), "-append", "console=ttyS0 rdinit=/init panic=-1 quiet",
        "-serial", f"file:{serial}",
        "-device", "virtio-scsi-pci,id=scsi0", "-device", "virtio-scsi-pci,id=scsi1",
        "-drive", f"file={lun0},if=none,id=p0,format=raw,file.locking=off",
        "-drive", f"file={lun0},if=none,id=p1,format=raw,file.locking=off",
        "-drive", f"file={lun1},if=none,id=p2,format=raw,file.locking=off",
        "-device", "scsi-hd,drive=p0,bus=scsi0.0,serial=SSLEUTH0,wwn=0x5000c50015ea71ac,share-rw=on",
        "-device", "scsi-hd,drive=p1,bus=scsi1.0,serial=SSLEUTH0,wwn=0x5000c50015ea71ac,share-rw=on",
        "-device", "scsi-hd,drive=p2,bus=scsi0.0,serial=SSLEUTH1,wwn=0x5000c50015ea71ad",
    ], check=True, timeout=900)
    return serial.read_text(errors="replace")


def save(console: str) -> None:
    """The console's `=== BEGIN name` … `=== END` blocks, laid out as one host root per case under OUT."""
    if "=== DONE" not in console:
        sys.exit("the guest did not finish; see the serial log")
    blocks = {name: body.replace("\r\n", "\n") for name, body in
              re.findall(r"^=== BEGIN (\S+)\r?\n(.*?)^=== END\r?$", console, re.S | re.M)}
    for case in CASES:
        if (OUT / case).exists():
            shutil.rmtree(OUT / case)
    for state in ("healthy", "no-multipathd", "path-failed"):
        root = OUT / f"multipath-{state}"
        _write(root / "etc" / "multipath.conf", MULTIPATH_CONF)
        _write(root / "sos_commands" / "multipath" / "multipath_-ll", blocks[f"multipath_-ll.{state}"])
    for layout in ("lacp", "same-subnet", "separate-subnets"):
        root = OUT / f"iscsi-{layout}"
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(blocks[f"etc-iscsi.{layout}.tar.b64"]))) as tar:
            # iscsiadm's static/ entries are absolute symlinks into nodes/: keep the records themselves
            tar.extractall(root / "etc", members=[m for m in tar if not m.issym()], filter="data")
        _write(root / "sos_commands" / "networking" / "ip_-d_address", blocks["ip_-d_address"])
        if layout == "lacp":
            _write(root / "proc" / "net" / "bonding" / "bond0", blocks["bonding_bond0"])
    for case in CASES:
        _write(OUT / case / "hostname", f"{case}\n")
        for path in (OUT / case).rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    scratch_dir = Path(sys.argv[1])
    save(run(*build(scratch_dir)))
