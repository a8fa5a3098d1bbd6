"""A tiny real guest, built offline from Debian packages: the cloud kernel and a busybox initramfs.

The guest boots by direct kernel boot (glance images with kernel_id/ramdisk_id) under TCG (this nested KVM
hangs a real kernel; scenarios set virt_type=qemu for it), loads the virtio network driver, asks for a DHCP lease on eth0 and tries the metadata service, and says what happened on its serial
console (nova's console.log), so scenarios about DHCP and metadata leave guest-side evidence too.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import subprocess
from pathlib import Path

from stacksleuth.lab import host
from stacksleuth.lab.host import LabError

GUEST_DIR = host.STATE / "guest"
#: load order (each after what it depends on); paths under lib/modules/<version>/kernel/
MODULES = (
    "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci.ko", "net/core/failover.ko",
    "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko",
)

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in MODULES; do insmod /lib/modules/$m; done
echo "stacksleuth-guest: booted, kernel $(uname -r)"
ip link set lo up; ip link set eth0 up
if udhcpc -i eth0 -t 6 -T 3 -n -q -s /bin/udhcpc.script; then
  echo "stacksleuth-guest: dhcp ok: $(ip -4 -o addr show eth0 | awk '{print $4}')"
else
  echo "stacksleuth-guest: dhcp failed: no lease for eth0 ($(cat /sys/class/net/eth0/address))"
fi
printf 'GET /openstack/latest/meta_data.json HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' |
  nc -w 5 169.254.169.254 80 > /tmp/md 2>/dev/null
if grep -q '"uuid"' /tmp/md; then
  echo "stacksleuth-guest: metadata ok: $(grep -o '"uuid": "[^"]*"' /tmp/md)"
else
  echo "stacksleuth-guest: metadata failed: http://169.254.169.254/openstack/latest/meta_data.json unreachable"
fi
echo "stacksleuth-guest: done"
while :; do sleep 3600; done
"""

UDHCPC = """#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev $interface; ip addr add $ip/${mask:-24} dev $interface
               [ -n "$router" ] && ip route add default via ${router%% *} dev $interface ;;
esac
exit 0
"""


def _cpio(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A newc cpio archive of (path, mode, data) entries (directories have empty data)."""
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
        out.write(b"\0" * (-(110 + len(encoded)) % 4))
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))
    return out.getvalue()


def build() -> tuple[Path, Path]:
    """Download (apt-get download, no install) and build; returns (kernel, initramfs). Cached."""
    kernel, initrd = GUEST_DIR / "vmlinuz", GUEST_DIR / "initrd.gz"
    if kernel.is_file() and initrd.is_file():
        return kernel, initrd
    GUEST_DIR.mkdir(parents=True, exist_ok=True)
    work = GUEST_DIR / "work"
    work.mkdir(exist_ok=True)
    deps = subprocess.run(["apt-cache", "depends", "linux-image-cloud-amd64"], capture_output=True, text=True,
                          check=False).stdout
    image = next((line.split()[-1] for line in deps.splitlines() if "Depends: linux-image-" in line), None)
    if image is None:
        raise LabError("apt-cache knows no linux-image-cloud-amd64 (run apt-get update)")
    host.sh(f"cd {work} && apt-get download {image} busybox-static >/dev/null 2>&1 && "
            f"dpkg-deb -x {image}_*.deb kernel && dpkg-deb -x busybox-static_*.deb busybox")
    version = image.removeprefix("linux-image-")
    (work / "kernel" / "boot" / f"vmlinuz-{version}").replace(kernel)
    moddir = work / "kernel" / "lib" / "modules" / version / "kernel"
    names = " ".join(Path(m).name for m in MODULES)
    entries: list[tuple[str, int, bytes]] = [(d, stat.S_IFDIR | 0o755, b"") for d in
                                             ("bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules")]
    entries.append(("bin/busybox", stat.S_IFREG | 0o755, (work / "busybox" / "bin" / "busybox").read_bytes()))
    entries.append(("bin/udhcpc.script", stat.S_IFREG | 0o755, UDHCPC.encode()))
    entries.append(("init", stat.S_IFREG | 0o755, INIT.replace("MODULES", names).encode()))
    entries += [(f"lib/modules/{Path(m).name}", stat.S_IFREG | 0o644, (moddir / m).read_bytes()) for m in MODULES]
    initrd.write_bytes(gzip.compress(_cpio(entries)))
    host.sh(f"rm -rf {work}")
    os.chmod(initrd, 0o644)
    return kernel, initrd


def register() -> None:
    """Upload the guest to glance once: lab-guest-kernel (aki), lab-guest-ramdisk (ari), lab-guest (ami),
    and the flavor m1.guest (128 MB: the 6.1 kernel does not boot in m1.nano's 64 MB)."""
    if host.osc("flavor", "show", "m1.guest", check=False).returncode != 0:
        host.osc("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1", "m1.guest")
    if host.osc("image", "show", "lab-guest", check=False).returncode == 0:
        return
    kernel, initrd = build()
    ids = {}
    for name, fmt, path in (("lab-guest-kernel", "aki", kernel), ("lab-guest-ramdisk", "ari", initrd)):
        if host.osc("image", "show", name, check=False).returncode != 0:
            host.osc("image", "create", "--public", "--disk-format", fmt, "--container-format", fmt,
                     "--file", str(path), name)
        ids[name] = host.osc_json("image", "show", name)["id"]
    host.osc("image", "create", "--public", "--disk-format", "qcow2", "--container-format", "bare",
             "--file", str(host.STATE / "tiny.qcow2"),
             "--property", f"kernel_id={ids['lab-guest-kernel']}",
             "--property", f"ramdisk_id={ids['lab-guest-ramdisk']}",
             "--property", "os_command_line=console=ttyS0 panic=-1 quiet", "lab-guest")
