"""libvirt on a KVM host: libvirtd and libvirt-guests running and enabled, what libvirt-guests will do to
guests across a host reboot (knowledge/probes/libvirt-guests.yaml), and libvirtd.conf's logging settings."""

from __future__ import annotations

import re
import shlex

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge
from stacksleuth.probes.processes import running as daemon_running
from stacksleuth.probes.processes import units

_GUESTS_FILES = ("/etc/sysconfig/libvirt-guests", "/etc/default/libvirt-guests")
_DAEMONS = ("libvirtd", "virtqemud")  # the monolithic daemon, or the modular one that replaces it
_CONF_LINE = re.compile(r"^\s*(?P<key>log_level|log_filters|log_outputs)\s*=\s*(?P<value>.*?)\s*$")
_OUTPUTS = '"1:file:/var/log/libvirt/libvirtd.log"'


def probe(host: Host) -> Outcome:
    """Daemon state, libvirt-guests settings, libvirtd.conf logging."""
    parts = (_daemons(host), _guests_settings(host), _logging(host))
    return Outcome(tuple(c for p in parts for c in p.checks), tuple(f for p in parts for f in p.findings))


def _enabled(host: Host, unit: str) -> tuple[bool | None, str]:
    """Whether a unit starts at boot: systemd's unit-file list, else the enablement links on disk."""
    files = units(host, "systemctl-unit-files")
    if files is not None and unit in files[0]:
        state = files[0][unit].columns[0]
        return state in ("enabled", "static", "alias"), f"{files[1]}: {unit}.service {state}"
    links = host.glob(f"/etc/systemd/system/*.target.wants/{unit}.service") + host.glob(f"/etc/rc[2345].d/S*{unit}")
    if links:
        return True, links[0]
    if host.exists(f"/usr/lib/systemd/system/{unit}.service") or host.exists(f"/lib/systemd/system/{unit}.service"):
        return False, f"{unit}.service installed, no enablement link"
    return None, f"{unit} not installed"


def _daemons(host: Host) -> Outcome:
    running, where = daemon_running(host, "libvirtd", _DAEMONS)
    guests, guests_where = _enabled(host, "libvirt-guests")
    checks = (Check("libvirt/libvirtd-running", {True: "ok", False: "problem", None: "skipped"}[running], where),
              Check("libvirt/libvirt-guests-enabled", {True: "ok", False: "problem", None: "skipped"}[guests], guests_where))
    findings: list[Finding] = []
    if running is False:
        findings.append(finding(
            "error", "libvirt/libvirtd-not-running", "libvirtd is not running",
            "Without libvirtd no guest can be created, started or stopped; nova-compute logs "
            "'Connection to libvirt lost' / HypervisorUnavailable and the compute service goes down.",
            ["systemctl enable --now libvirtd", "journalctl -u libvirtd -b"], "libvirtd", [Evidence(host.name, where, 0, where)]))
    if guests is False:
        findings.append(finding(
            "warning", "libvirt/libvirt-guests-disabled", "libvirt-guests is not enabled: guests are not resumed after a reboot",
            "libvirt-guests saves or shuts down running guests when the host stops and starts them again on boot. "
            "It is not enabled here, so after the next host reboot the guests that were running stay off "
            "(only those marked autostart come back).",
            ["systemctl enable --now libvirt-guests", "virsh list --all --autostart"], "libvirt-guests",
            [Evidence(host.name, guests_where, 0, guests_where)]))
    return Outcome(checks, tuple(findings))


def _guests_settings(host: Host) -> Outcome:
    """libvirt-guests' settings (the file, else the defaults) and their consequences across a host reboot."""
    path, text = next(((p, t) for p in _GUESTS_FILES if (t := host.file(p)) is not None), (None, None))
    if path is None or text is None:
        return Outcome((Check("libvirt/libvirt-guests-settings", "skipped", "no libvirt-guests configuration file"),))
    data = knowledge("libvirt-guests.yaml")
    settings, lines = dict(data["defaults"]), {}
    for number, line in enumerate(text.splitlines(), 1):
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#") and key.isupper():
            settings[key] = " ".join(shlex.split(value, comments=True))
            lines[key] = Evidence(host.name, path, number, line.strip())
    summary = ", ".join(f"{k}={settings[k]}" for k in ("ON_BOOT", "ON_SHUTDOWN", "START_DELAY", "SHUTDOWN_TIMEOUT", "URIS"))
    findings = []
    for rule in data["consequences"]:
        if all(settings.get(k) in values for k, values in rule["when"].items()):
            evidence = [lines.get(k) or Evidence(host.name, path, 0, f"{k}={settings[k]} (default: not set in the file)")
                        for k in rule["when"]]
            explained = "; ".join(f"{k}: {data['settings'][k]}" for k in rule["when"])
            findings.append(finding(rule["severity"], f"libvirt/guests-{rule['id']}", rule["title"],
                                    f"{rule['cause']} ({explained})", rule["fix"], "libvirt-guests", evidence))
    status = "problem" if any(f.severity != "info" for f in findings) else "ok"
    return Outcome((Check("libvirt/libvirt-guests-settings", status, f"{path}: {summary}"),), tuple(findings))


def _logging(host: Host) -> Outcome:
    """libvirtd.conf: `log_level` is deprecated (libvirt ≥ 4.4.0) and floods or is rate-limited by journald."""
    text = host.file("/etc/libvirt/libvirtd.conf")
    if text is None:
        return Outcome((Check("libvirt/libvirtd-logging", "skipped", "no /etc/libvirt/libvirtd.conf"),))
    found: dict[str, Evidence] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = _CONF_LINE.match(line)
        if m:
            found[m["key"]] = Evidence(host.name, "/etc/libvirt/libvirtd.conf", number, line.strip())
    summary = ", ".join(e.text for e in found.values()) or "logging settings all default"
    if "log_level" not in found:
        return Outcome((Check("libvirt/libvirtd-logging", "ok", summary),))
    filters = knowledge("debug-logging.yaml")["filters"]  # the set `check debug-logging on` applies
    fix = [f'remove log_level; set log_filters="{filters}" (libvirt\'s recommended set: debug everywhere except the '
           f"noisy RPC/event/JSON/D-Bus code; the older short form is \"1:qemu 1:libvirt 4:object 4:json 4:event 1:util\")",
           f"and log_outputs={_OUTPUTS} so it is written to a file, not journald",
           "systemctl restart libvirtd  # or at runtime, no restart, undone exactly by `off`: "
           "stacksleuth check debug-logging on"]
    cause = ("libvirtd.conf sets log_level, deprecated since libvirt 4.4.0 and 'strongly discouraged': level 1 logs "
             "everything from every module, too much to read, and journald rate-limits it (libvirt then caps it at "
             "3 or 4 when journald is the output), so the debug lines you wanted are dropped. log_filters raises "
             "verbosity only where it helps.")
    return Outcome((Check("libvirt/libvirtd-logging", "problem", summary),),
                   (finding("warning", "libvirt/log-level-deprecated", "libvirtd.conf uses the deprecated log_level",
                            cause, fix, "libvirtd", list(found.values())),))
