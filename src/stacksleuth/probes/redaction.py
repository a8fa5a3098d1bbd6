"""Secrets never leave stacksleuth: passwords, tokens, keys, connection strings and URL credentials."""

from __future__ import annotations

import re

# option names whose value is a secret (oslo's `secret=True` options are all of this shape, plus URLs with creds)
_SECRET_NAME = re.compile(r"(?i)(pass(word)?|secret|token|_key$|^key$|connection|transport_url|credential|auth_key)")
_URL_CREDS = re.compile(r"(?P<scheme>[a-z][\w+.-]*://)(?P<user>[^:/@\s,]*):(?P<pw>[^@\s]*)@")
_INLINE = re.compile(r"(?i)\b(?P<key>[\w.-]*(?:password|passwd|secret|token|_key|connection|transport_url))"
                     r"(?P<sep>\s*[=:]\s*)(?P<value>\S+)")


def is_secret(option: str) -> bool:
    """True for options whose value must never be printed."""
    return _SECRET_NAME.search(option) is not None


def redact(text: str) -> str:
    """`text` with every credential replaced by `***`: `user:pw@` in URLs, `password = x`, `connection = x`."""
    text = _URL_CREDS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _INLINE.sub(lambda m: f"{m['key']}{m['sep']}***", text)
