"""Find the exception class a record names: in a folded traceback, or in oslo's `: <error_summary>`."""

from __future__ import annotations

import re

# `nova.exception_Remote.NoValidHost_Remote: …`, `libvirt.libvirtError: …`, `oslo_config.cfg.ConfigFileValueError: …`
_QUALIFIED = re.compile(r"(?<![\w.])((?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*): ")
# `ConnectionRefusedError: [Errno 111] …`, `NoValidHost: No valid host …`
_BARE = re.compile(r"(?<![\w.])([A-Z]\w*(?:Error|Exception|Timeout|NotFound|Failure|Unavailable|Conflict|Denied|Unauthorized|Forbidden|Invalid|NoValidHost|Exceeded))(?:_Remote)?: ")
# the final line of a traceback: `module.Class: text` or a bare `Class`, not indented
_TB_LAST = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)(?::|$)")


def normalise(name: str) -> str:
    """Drop oslo.messaging's `_Remote` suffixes so remote and local exceptions compare equal."""
    return name.replace("_Remote", "")


def from_message(message: str) -> str | None:
    """The exception class named in a one-line message, if any."""
    match = _QUALIFIED.search(message)
    if match and not match.group(1).startswith(("http.", "https.")):
        return normalise(match.group(1))
    match = _BARE.search(message)
    return normalise(match.group(1)) if match else None


def from_traceback(detail: str) -> str | None:
    """The exception class on the last unindented line of a traceback text."""
    for line in reversed(detail.splitlines()):
        if not line or line[0].isspace() or line.startswith(("Traceback", "During handling", "The above")):
            continue
        match = _TB_LAST.match(line)
        if match and ("." in match.group(1) or match.group(1)[0].isupper()):
            return normalise(match.group(1))
        return None
    return None
