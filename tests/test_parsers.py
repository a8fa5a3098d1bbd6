"""Each parser on real sample lines (from the shared datasets and the Zed lab), one format per test."""

from __future__ import annotations

from conftest import EXAMPLES, ROOT, diagnose_json
from stacksleuth.events import COLUMNS, Event
from stacksleuth.parsers import oslo
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.registry import PARSERS, sniff
from stacksleuth.sources.discover import service_for

META = FileMeta("node1", "var/log/x.log", "nova-compute", 2022)


def parse(fmt: str, text: str, meta: FileMeta = META) -> tuple[list[Event], ParseStats]:
    stats = ParseStats()
    lines = text.splitlines(keepends=True)
    rows = list(PARSERS[fmt].parse(lines, meta, stats))
    assert all(len(r) == len(COLUMNS) for r in rows)
    assert stats.lines == len(lines)
    assert stats.events + stats.continuation + stats.blank + stats.unparsed == stats.lines
    return [Event.from_row(r) for r in rows], stats


def test_oslo_yoga_and_zed_brackets() -> None:
    (yoga, zed, glob), _ = parse("oslo", (
        "2022-02-04 09:38:51.176 24147 ERROR oslo.messaging._drivers.impl_rabbit [req-0baecda3-4e3d-4a54-97bb-5ea1017d724c - - - - -] Connection failed: [Errno 111] ECONNREFUSED (retrying in 2.0 seconds): ConnectionRefusedError: [Errno 111] ECONNREFUSED\n"
        "2026-11-21 04:41:41.368 2436 INFO eventlet.wsgi.server [None req-4b76125a-8949-432b-a6d0-a61ed79f8c6b 931e0d980a034aa1aeb540a89793bce3 c2f34232d9eb4cbcb7ea3a302a63a0b9 - - default default] 127.0.0.1 - - [21/Nov/2026 04:41:41] \"GET /v2/images HTTP/1.1\" 200 267 0.011\n"
        "2026-11-21 04:52:37.490 2596 INFO placement.requestlog [req-569dd95d-dfc3-4f1b-825a-66d096e1d601 req-53b9df8b-4f34-451d-a2af-159c5d7d8370 83a26f1fa1eb40d89294129144334c43 30fd975c9ea74164875f4afb3065a833 - - default default] 127.0.0.1 \"GET /allocation_candidates?limit=1000\" status: 200 len: 1918 microversion: 1.36\n"
    ))
    assert (yoga.ts, yoga.pid, yoga.level, yoga.request_id) == ("2022-02-04 09:38:51.176", "24147", "ERROR", "req-0baecda3-4e3d-4a54-97bb-5ea1017d724c")
    assert yoga.message.startswith("Connection failed") and yoga.exception == "ConnectionRefusedError"
    assert (zed.request_id, zed.global_request_id, zed.status) == ("req-4b76125a-8949-432b-a6d0-a61ed79f8c6b", None, 200)
    assert (glob.global_request_id, glob.request_id, glob.status) == (
        "req-569dd95d-dfc3-4f1b-825a-66d096e1d601", "req-53b9df8b-4f34-451d-a2af-159c5d7d8370", 200)


def test_oslo_dash_context_and_instance() -> None:
    (dash, inst), _ = parse("oslo", (
        "2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [-] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started (Lifecycle Event)\n"
        "2017-05-16 00:00:05.185 2931 INFO nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Paused (Lifecycle Event)\n"
    ))
    assert (dash.request_id, dash.instance, dash.message) == (None, "b9000564-fe1a-409b-b8cc-1e88b294cd1d", "VM Started (Lifecycle Event)")
    assert (inst.request_id, inst.instance) == ("req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab", "b9000564-fe1a-409b-b8cc-1e88b294cd1d")


def test_traceback_repeating_header_folds_into_one_event() -> None:
    events, stats = parse("oslo", (
        "2018-06-28 05:40:29.312 3477 ERROR nova.compute.manager [req-8b4f890a-dd01-4a35-b1ba-5d5f98dbefd3 34449420d71643ff9c143c132ecdb7b4 0d772b180b3c41e2ae2eba61c236b149 - default default] [instance: 32d75409-f1b2-4a05-92de-4d7a329302b9] Build of instance aborted\n"
        "2018-06-28 05:40:29.312 3477 ERROR nova.compute.manager [instance: 32d75409-f1b2-4a05-92de-4d7a329302b9] Traceback (most recent call last):\n"
        "2018-06-28 05:40:29.312 3477 ERROR nova.compute.manager [instance: 32d75409-f1b2-4a05-92de-4d7a329302b9]   File \"/usr/lib/python2.7/site-packages/nova/compute/manager.py\", line 1178, in _do_build_and_run_instance\n"
        "2018-06-28 05:40:29.312 3477 ERROR nova.compute.manager [instance: 32d75409-f1b2-4a05-92de-4d7a329302b9] BuildAbortException: Build of instance aborted: Volume did not finish being created\n"
        "2018-06-28 05:40:29.312 3477 ERROR nova.compute.manager [instance: 32d75409-f1b2-4a05-92de-4d7a329302b9] \n"
        "2015-10-29 10:51:12.480 3405 ERROR neutron.service [-] Unrecoverable error: please check log for details.\n"
        "2015-10-29 10:51:12.480 3405 TRACE neutron.service Traceback (most recent call last):\n"
        "2015-10-29 10:51:12.480 3405 TRACE neutron.service   File \"/usr/lib/python2.7/site-packages/neutron/service.py\", line 102, in serve_wsgi\n"
        "2015-10-29 10:51:12.480 3405 TRACE neutron.service oslo_db.exception.DBConnectionError: (pymysql.err.OperationalError) (2003, \"Can't connect\")\n"
    ))
    first, second = [e for e in events]
    assert first.line == 1 and first.instance == "32d75409-f1b2-4a05-92de-4d7a329302b9"
    assert first.exception == "BuildAbortException" and "Traceback" in first.detail
    assert second.line == 6 and second.exception == "oslo_db.exception.DBConnectionError"
    assert stats.continuation == 7


def test_raw_continuation_lines_fold_and_ansi_suffix_and_crlf() -> None:
    events, stats = parse("oslo", (
        "2015-10-29 10:51:09.120 5114 DEBUG neutron.agent.linux.utils [req-1 None] \r\n"
        "Command: ['sudo', 'iptables-save', '-c']\r\n"
        "Exit code: 0\r\n"
        "# Generated by iptables-save v1.4.21 on Thu Oct 29 10:51:09 2015\r\n"
        "\r\n"
        "2026-11-21 04:52:37.491 2596 INFO placement.requestlog [req-569dd95d-dfc3-4f1b-825a-66d096e1d601 req-53b9df8b-4f34-451d-a2af-159c5d7d8370 83a26f1fa1eb40d89294129144334c43 30fd975c9ea74164875f4afb3065a833 - - default default] 127.0.0.1 \"GET /resource_providers\" status: 200 len: 250 microversion: 1.0\x1b[00m\r\n"
    ))
    cmd, placement = events
    assert cmd.message == "Command: ['sudo', 'iptables-save', '-c']" and cmd.detail.endswith("2015")
    assert placement.message.endswith("microversion: 1.0") and placement.status == 200
    assert (stats.continuation, stats.blank, stats.unparsed) == (3, 1, 0)


def test_uwsgi_request_and_daemon_lines() -> None:
    events, stats = parse("oslo", (
        "*** Starting uWSGI 2.0.21-debian (64bit) on [Sat Nov 21 04:43:50 2026] ***\n"
        "unable to load app 0 (mountpoint='') (callable not found or import error)\n"
        "--- no python application found, check your startup logs for errors ---\n"
        "[pid: 15233|app: 0|req: 67/127] 127.0.0.1 () {34 vars in 654 bytes} [Sat Nov 21 05:00:14 2026] GET /v2.1/servers/vm-a => generated 79 bytes in 126 msecs (HTTP/1.1 404) 7 headers in 341 bytes (1 switches on core 0)\n"
        "!!! uWSGI process 28780 got Segmentation Fault !!!\n"
        "*** backtrace of 28781 ***\n"
        "/usr/bin/uwsgi_python311(uwsgi_backtrace+0x2f) [0x559b40b0f4df]\n"
    ), FileMeta("vm", "nova-api.log", "nova-api"))
    assert [e.logger for e in events] == ["raw", "raw", "raw", "uwsgi", "raw", "raw"]
    assert events[1].level == "ERROR" and events[2].level == "ERROR" and events[4].level == "ERROR"
    assert (events[3].ts, events[3].status) == ("2026-11-21 05:00:14.000", 404)
    assert events[5].detail.startswith("/usr/bin/uwsgi_python311") and stats.unparsed == 0


def test_uwsgi_bind_failure_is_its_own_event_at_the_start_time() -> None:
    """Real lab capture: the banner's start time dates the untimestamped lines under it, and the bind error is
    a record of its own (not folded into 'thunder lock: enabled')."""
    path = ROOT / "corpus/lab/port-in-use/placement__placement-api.log"
    events, stats = parse("oslo", path.read_text(), FileMeta("vm", path.name, "placement-api"))
    bind = next(e for e in events if e.message.startswith("bind(): Address already in use"))
    assert (bind.line, bind.ts, bind.level) == (86, "2026-11-21 06:53:23.000", "ERROR")
    assert next(e for e in events if e.line == 85).message.startswith("probably another instance of uWSGI")
    assert stats.unparsed == 0


def test_loghub_prefixed_crlf() -> None:
    (event,), _ = parse("oslo-prefixed", "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b-2096-447d-96ea-a692162415ae 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 \"GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1\" status: 200 len: 1893 time: 0.2477829\r\n")
    assert (event.service, event.request_id, event.status) == ("nova-api", "req-38101a0b-2096-447d-96ea-a692162415ae", 200)


def test_garbage_line_is_unparsed_and_sampled_not_folded() -> None:
    events, stats = parse("oslo", (
        "2022-02-04 09:38:51.176 24147 INFO nova.compute.manager [-] one\n"
        "\x00\x01\x02binary\ufffd\n"
        "2022-02-04 09:38:51.177 24147 INFO nova.compute.manager [-] two\n"
    ))
    assert [e.message for e in events] == ["one", "two"] and events[0].detail == ""
    assert stats.unparsed == 1 and stats.samples[0][0] == 2


def test_libvirtd() -> None:
    (info, err), _ = parse("libvirtd", (
        "2026-11-21 04:42:01.882+0000: 3111: info : libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian)\n"
        "2026-11-21 04:53:33.529+0000: 525: error : virNetSocketReadWire:1793 : End of file while reading data: Input/output error\n"
        "\n"
    ))
    assert (info.level, info.logger, info.pid) == ("INFO", "libvirt", "3111")
    assert (err.level, err.logger, err.ts) == ("ERROR", "virNetSocketReadWire", "2026-11-21 04:53:33.529")


def test_qemu_uuid_on_every_row() -> None:
    events, stats = parse("qemu", (
        "2026-11-21 04:52:47.289+0000: starting up libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian), qemu version: 7.2.22Debian 1:7.2+dfsg-7+deb12u18+b3, kernel: 6.18.44-fc-v669, hostname: vm\n"
        "LC_ALL=C \\\n"
        "-uuid 877ae74c-fe20-4bc8-a0ac-218327dc0f92 \\\n"
        "-msg timestamp=on\n"
        "char device redirected to /dev/pts/3 (label charserial0)\n"
        "2022-02-10T16:18:05.033085Z qemu-system-x86_64: warning: host doesn't support requested feature: MSR(48FH).vmx-exit-load-perf-global-ctrl [bit 12]\n"
    ))
    assert {e.instance for e in events} == {"877ae74c-fe20-4bc8-a0ac-218327dc0f92"}
    assert events[-1].level == "WARNING" and stats.unparsed == 0


def test_rabbitmq_lager_3_9_and_no_pid() -> None:
    events, _ = parse("rabbitmq", (
        "2022-02-04 09:52:20.868 [info] <0.8.0> Log file opened with Lager\n"
        "2022-05-18 06:55:37.294 [warning]  lager_file_backend dropped 12 messages in the last second that exceeded the limit of 50 messages/sec\n"
        "2026-11-21 04:53:33.529831+00:00 [warning] <0.1727.0> closing AMQP connection <0.1727.0> (127.0.0.1:42040 -> 127.0.0.1:5672):\n"
        "client unexpectedly closed TCP connection\n"
    ))
    assert [e.level for e in events] == ["INFO", "WARNING", "WARNING"]
    assert events[1].message.startswith("lager_file_backend") and events[2].detail == "client unexpectedly closed TCP connection"


def test_mariadb_unpadded_hour_and_old_format() -> None:
    (new, old), _ = parse("mariadb", (
        "2026-11-21  5:17:08 0 [Warning] Could not increase number of max_open_files to more than 1024\n"
        "170517 14:03:11 [ERROR] mysqld: Table './mysql/user' is marked as crashed\n"
    ))
    assert (new.ts, new.level) == ("2026-11-21 05:17:08.000", "WARNING")
    assert (old.ts, old.level) == ("2017-05-17 14:03:11.000", "ERROR")


def test_ovs_ovn_vlog() -> None:
    events, stats = parse("vlog", (
        "2022-02-04T09:38:32.504Z|00001|vlog|INFO|opened log file /var/log/openvswitch/ovs-vswitchd.log\n"
        "2022-02-16T09:03:17.364Z|348290|dpif_netlink(handler10)|ERR|Dropped 1 log messages in last 28 seconds\n"
        "\n"
    ))
    assert [(e.logger, e.level) for e in events] == [("vlog", "INFO"), ("dpif_netlink(handler10)", "ERROR")]
    assert events[1].ts == "2022-02-16 09:03:17.364" and stats.blank == 1


def test_syslog_and_journal() -> None:
    events, _ = parse("syslog", (
        "-- Logs begin at Tue 2023-08-01 10:42:07 UTC, end at Sat 2023-08-05 10:29:26 UTC. --\n"
        "Apr  6 06:36:09 kermath Keepalived_vrrp[23396]: Unknown configuration entry 'no_track' for ip address - ignoring\n"
        "Feb  9 17:24:13 compute4 kernel: [13526370.730586] o-hm0: dropped over-mtu packet: 1760 > 1500\n"
        "2022-02-10T17:52:37+0100 juju-9c28ce-ubuntu-11 systemd[1]: Starting Open vSwitch Forwarding Unit...\n"
    ))
    assert [e.logger for e in events] == ["journal", "Keepalived_vrrp", "kernel", "systemd"]
    assert events[1].ts == "2022-04-06 06:36:09.000" and events[1].pid == "23396"
    assert events[3].ts == "2022-02-10 16:52:37.000"


def test_dnsmasq() -> None:
    events, _ = parse("dnsmasq", (
        "Nov 21 04:53:33 dnsmasq[12345]: started, version 2.80 cachesize 150\n"
        "Nov 21 04:53:41 dnsmasq-dhcp[12345]: DHCPDISCOVER(tap1a2b3c4d-5e) fa:16:3e:12:34:56 no address available\n"
    ))
    assert [(e.logger, e.pid) for e in events] == [("dnsmasq", "12345"), ("dnsmasq-dhcp", "12345")]


def test_apache_error_wraps_oslo_and_access() -> None:
    events, _ = parse("apache-error", (
        "[Thu Mar 07 00:02:53.076952 2024] [wsgi:error] [pid 19692:tid 140252996032064] 2024-03-07 00:02:53.076 19692 ERROR octavia.api.drivers.driver_factory [-] Unable to load provider driver ovn due to: stevedore\n"
        "2025-07-21 11:57:24.730343 2025-07-21 11:57:24.729 3890533 WARNING keystonemiddleware.auth_token [req-47565f8f-1d2b-4c1e-9d8f-2a1b3c4d5e6f 3478b4aca2d14940828884edc5779ac3 d617a9b7a2ef4dfd84240d993de16d53 - - -] Authorization failed for token\n"
        "[Thu Mar 07 00:02:54.000001 2024] [mpm_event:notice] [pid 1:tid 2] AH00489: Apache/2.4.52 (Ubuntu) configured\n"
    ))
    assert events[0].logger == "octavia.api.drivers.driver_factory" and events[0].level == "ERROR"
    assert events[1].request_id == "req-47565f8f-1d2b-4c1e-9d8f-2a1b3c4d5e6f"
    assert (events[2].logger, events[2].ts) == ("mpm_event", "2024-03-07 00:02:54.000")
    (access,), _ = parse("apache-access", '10.5.0.12 - - [21/Nov/2026:04:53:33 +0000] "GET /v3/auth/tokens HTTP/1.1" 503 5342 "-" "python-keystoneclient"\n')
    assert (access.status, access.level, access.ts) == (503, "ERROR", "2026-11-21 04:53:33.000")


def test_os_log_merger_tool_lines() -> None:
    events, _ = parse("tool-tag", "2015-10-29 10:52:20.959 pinger DEBUG 64 bytes from 192.168.233.100: icmp_seq=1 ttl=63 time=1.97 ms\n")
    assert (events[0].logger, events[0].level) == ("pinger", "DEBUG")


def test_rabbit_startup_files_are_plain_records() -> None:
    events, _ = parse("plain", "  ##  ##      RabbitMQ 3.8.2\n\nstarting queue supervisor and queue recovery    ...BOOT ERROR: FAILED\n")
    assert [e.level for e in events] == ["INFO", "ERROR"]


def test_guest_console_log_is_one_record_a_line() -> None:
    """A guest's console.log (nova's serial console file, here the lab guest's with CRLF ends) has no header
    to fold under: each line is a record, so a rule's evidence is the failing DHCP line, not the boot banner."""
    case = ROOT / "corpus" / "lab" / "dhcp-agent-down-guest"
    (console,) = case.glob("*console.log")
    assert sniff(console, service_for((console.name,))) == "plain"
    code, doc = diagnose_json(case)
    (finding,) = [f for f in doc["findings"] if f["rule"] == "network/guest-no-dhcp-lease"]
    (evidence,) = finding["evidence"]
    assert evidence["line"] == 9 and evidence["text"] == "udhcpc: no lease, failing"
    assert code == 1 and doc["parse"]["unparsed"] == 0


def test_lab_sample_annotations_are_their_own_records() -> None:
    events, stats = parse("libvirtd", (
        "# real log sample from /var/log/libvirt/libvirtd.log (72 lines total)\n"
        "2026-11-21 04:42:01.882+0000: 3111: info : libvirt version: 9.0.0\n"
        "##### WARNING/ERROR lines (distinct shapes, up to 20)\n"
    ))
    assert [e.logger for e in events] == ["annotation", "libvirt", "annotation"] and stats.unparsed == 0


def test_uwsgi_daemon_lines_start_with_a_known_character() -> None:
    """The cheap first-character filter in front of the daemon-line regex never hides a daemon line."""
    samples = (EXAMPLES / "fault-f-nova-conf-typo" / "nova__nova-api.log").read_text().splitlines()
    daemon = [line for line in samples if line and oslo._DAEMON.match(line)]
    assert len(daemon) > 20
    assert all(line[0] in oslo._DAEMON_FIRST for line in daemon)
