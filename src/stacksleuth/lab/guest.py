"""A tiny real guest, built offline from Debian packages: the cloud kernel and a busybox initramfs.

The guest boots by direct kernel boot (glance images with kernel_id/ramdisk_id) under TCG (this nested KVM
hangs a real kernel; scenarios set virt_type=qemu for it), loads the virtio network driver, asks for a DHCP lease on eth0 (with the host routes of option 121, as
cloud-init's DHCP client does), reads its metadata and SSH public key from http://169.254.169.254 as
cloud-init would, and says what happened on its serial console (nova's console.log), so scenarios about
DHCP and metadata leave guest-side evidence too.
"""

from __future__ import annotations

import gzip
import hashlib
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
if udhcpc -i eth0 -t 6 -T 3 -n -q -O staticroutes -s /bin/udhcpc.script; then
  echo "stacksleuth-guest: dhcp ok: $(ip -4 -o addr show eth0 | awk '{print $4}')"
else
  echo "stacksleuth-guest: dhcp failed: no lease for eth0 ($(cat /sys/class/net/eth0/address))"
fi
get() { # PATH FILE: HTTP/1.0 through nc (busybox-static's wget segfaults without NSS), three tries as
        # cloud-init retries; on failure /tmp/err holds the status line or why there was none
  for try in 1 2 3; do
    printf 'GET %s HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' "$1" | nc -w 10 169.254.169.254 80 > /tmp/resp
    status=$(head -1 /tmp/resp | tr -d '\r')
    case "$status" in
      *" 200 "*) tr -d '\r' < /tmp/resp | awk 'body {print} /^$/ {body = 1}' > "$2"; return 0 ;;
      "") echo "no answer from 169.254.169.254:80" > /tmp/err ;;
      *) echo "$status" > /tmp/err ;;
    esac
    sleep 3
  done
  return 1
}
MD=http://169.254.169.254
if get /openstack/latest/meta_data.json /tmp/md && grep -q '"uuid"' /tmp/md; then
  echo "stacksleuth-guest: metadata ok: $(grep -o '"uuid": "[^"]*"' /tmp/md)"
else
  echo "stacksleuth-guest: metadata failed: $MD/openstack/latest/meta_data.json: $(cat /tmp/err)"
fi
if get /latest/meta-data/public-keys/0/openssh-key /tmp/key && grep -q '^ssh-' /tmp/key; then
  echo "stacksleuth-guest: public key: $(head -1 /tmp/key | cut -c1-48)..."
else
  echo "stacksleuth-guest: no public key, ssh with the key pair will be refused: $MD/latest/meta-data/public-keys/0/openssh-key: $(cat /tmp/err)"
fi
echo "stacksleuth-guest: done"
while :; do sleep 3600; done
"""

UDHCPC = """#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev $interface; ip addr add $ip/${mask:-24} dev $interface
               if [ -n "$staticroutes" ]; then  # option 121 replaces the router option (RFC 3442)
                 set -- $staticroutes
                 while [ $# -ge 2 ]; do ip route add $1 via $2 dev $interface; shift 2; done
               elif [ -n "$router" ]; then ip route add default via ${router%% *} dev $interface; fi ;;
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


def version() -> str:
    """What the initramfs is built from: a changed init script means a new image in glance."""
    return hashlib.sha256((INIT + UDHCPC + " ".join(MODULES)).encode()).hexdigest()[:12]


def build() -> tuple[Path, Path]:
    """Download (apt-get download, no install) and build; returns (kernel, initramfs). Cached."""
    kernel, initrd = GUEST_DIR / "vmlinuz", GUEST_DIR / f"initrd-{version()}.gz"
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
    release = image.removeprefix("linux-image-")
    (work / "kernel" / "boot" / f"vmlinuz-{release}").replace(kernel)
    moddir = work / "kernel" / "lib" / "modules" / release / "kernel"
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
    the flavor m1.guest (128 MB: the 6.1 kernel does not boot in m1.nano's 64 MB) and the key pair lab-key
    (the public key the guest reads from the metadata service). An image of an older build is replaced."""
    if host.osc("flavor", "show", "m1.guest", check=False).returncode != 0:
        host.osc("flavor", "create", "--ram", "128", "--vcpus", "1", "--disk", "1", "m1.guest")
    if host.osc("keypair", "show", "lab-key", check=False).returncode != 0:
        key = GUEST_DIR / "lab-key"
        GUEST_DIR.mkdir(parents=True, exist_ok=True)
        if not key.is_file():
            host.sh(f"ssh-keygen -q -t ed25519 -N '' -C lab-key -f {key}")
        host.osc("keypair", "create", "--public-key", f"{key}.pub", "lab-key")
    image = host.osc_json("image", "show", "lab-guest", check=False)
    if isinstance(image, dict):
        if (image.get("properties") or {}).get("stacksleuth_guest") == version():
            return
        for name in ("lab-guest", "lab-guest-ramdisk"):
            host.osc("image", "delete", name, check=False)
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
             "--property", "os_command_line=console=ttyS0 panic=-1 quiet",
             "--property", f"stacksleuth_guest={version()}", "lab-guest")
