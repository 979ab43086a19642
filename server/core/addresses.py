"""Checks for email addresses and host names, strict enough to stop header injection."""

from __future__ import annotations

import ipaddress
import re

# A dot-atom local part (RFC 5322 atext, plus UTF-8 for SMTPUTF8) and a domain of labels.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+"
_LOCAL = rf"{_ATEXT}(?:\.{_ATEXT})*"
_ALNUM = r"[A-Za-z0-9\u0080-\U0010ffff]"
_LABEL = rf"{_ALNUM}(?:[A-Za-z0-9\u0080-\U0010ffff-]{{0,61}}{_ALNUM})?"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*")
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def is_email_address(value: str) -> bool:
    return len(value) <= 254 and _ADDRESS.fullmatch(value) is not None


def is_host(value: str) -> bool:
    if not value or len(value) > 253:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return _HOST.fullmatch(value) is not None
