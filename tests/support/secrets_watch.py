"""Whole-run secret check: every log record of erpmail (server and sandbox) and of aiosmtpd is kept,
formatted as the server formats it (JSON with extras, so error text is included), and the run
fails at its end when any of them holds a mail-server password, a sandbox mailbox password or an
API key secret the tests used.

Secrets are collected three ways, so that a new test cannot forget one: `secret(value)` for test
helpers, every plaintext the server encrypts (SecretBox.encrypt), every password a sandbox mailbox
is created with, and every API key secret the server makes. The check runs at session end because a
password registered by a later test may have been logged by an earlier one.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from erpmail.sandbox.store import MailStore
from erpmail.server.auth import store as key_store
from erpmail.server.core.logging import JsonFormatter
from erpmail.server.core.secrets import SecretBox

WATCHED_LOGGERS = ("erpmail", "mail.log")
# Shorter values ("pw", "secret") are words or fragments that log lines hold for other reasons
# ("secret.key"): matching them would only be noise. The tests' real passwords are longer.
MIN_LENGTH = 8
# The shape of an API key secret whoever made it: "erpm_<key_id>_<random part>".
API_KEY_SECRET = re.compile(r"erpm_[0-9a-f]+_[A-Za-z0-9_-]{16,}")
# SMTP AUTH carries credentials in base64 ("AUTH PLAIN AGFsaWNl..."): encoded is not hidden.
BASE64 = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")


@dataclass
class Watch:
    secrets: set[str] = field(default_factory=set)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (test node id, log line)
    current_test: str = "(outside any test)"

    def leaks(self) -> list[tuple[str, str, str]]:
        """(test, the secret found or "API key secret", log line) for every leaking line."""
        found = []
        for test, line in self.lines:
            readable = line + "".join(_decoded(line))
            for value in self.secrets:
                if value in readable:
                    found.append((test, value, line))
            if API_KEY_SECRET.search(line):
                found.append((test, "API key secret", line))
        return found


WATCH = Watch()


def _decoded(line: str) -> list[str]:
    texts = []
    for token in BASE64.findall(line):
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        texts.append(raw.decode("utf-8", "replace"))
    return texts


def secret(value: str) -> str:
    """Registers a password or key the tests use; returns it, for `PASSWORD = secret("...")`."""
    if len(value) >= MIN_LENGTH:
        WATCH.secrets.add(value)
    return value


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            WATCH.lines.append((WATCH.current_test, self.format(record)))
        except Exception:  # a record that cannot be formatted is kept as raw as it comes
            raw = f"{record.msg!r} {record.args!r} {vars(record)}"
            WATCH.lines.append((WATCH.current_test, raw))


def _spy(owner: Any, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    setattr(owner, name, wrap(getattr(owner, name)))


def _register_arguments() -> None:
    def on_encrypt(original: Callable[..., bytes]) -> Callable[..., bytes]:
        def encrypt(self: SecretBox, plaintext: str) -> bytes:
            secret(plaintext)
            return original(self, plaintext)

        return encrypt

    def on_mailbox(original: Callable[..., Any]) -> Callable[..., Any]:
        def create_mailbox(self: MailStore, address: str, password: str, *a: Any, **k: Any) -> Any:
            secret(password)
            return original(self, address, password, *a, **k)

        return create_mailbox

    def on_key(original: Callable[[str], str]) -> Callable[[str], str]:
        return lambda key_id: secret(original(key_id))

    _spy(SecretBox, "encrypt", on_encrypt)
    _spy(MailStore, "create_mailbox", on_mailbox)
    _spy(key_store, "make_secret", on_key)


_HANDLER = _Capture()


def pytest_configure(config: pytest.Config) -> None:
    _register_arguments()
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(_HANDLER)
    # Debug records too: a password in a debug line is a leak as soon as someone turns debug on.
    logging.getLogger("erpmail").setLevel(logging.DEBUG)
    # aiosmtpd logs every client line (AUTH included) at info. Not its debug lines: they echo
    # every reply, and tests' deliberately careless SMTP servers quote passwords back in theirs
    # (tests/security/test_sandbox_logs.py checks the sandbox's at debug level).
    logging.getLogger("mail.log").setLevel(logging.INFO)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    WATCH.current_test = item.nodeid
    try:
        return (yield)
    finally:
        WATCH.current_test = "(outside any test)"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"secrets watch: {len(WATCH.lines)} log lines checked for {len(WATCH.secrets)} secrets"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = WATCH.leaks()
    if not leaks:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "secrets found in log lines", red=True)
        for test, value, line in leaks[:20]:
            reporter.write_line(f"{test}: {value!r} in {line}")
        reporter.write_line(f"{len(leaks)} leaking log line(s) in all")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
