"""`erpmail sandbox` and `erpmail dev` run as real processes: they print where they listen and the
mailboxes they created, serve mail, and exit cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import imaplib
import os
import poplib
import re
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.sandbox.control.support import send_mail

ERPMAIL = str(Path(sys.executable).parent / "erpmail")
LISTENERS = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "control")
ALL_PORTS_FREE = [arg for name in LISTENERS for arg in (f"--{name}-port", "0")]
_LISTENER_LINE = re.compile(r"^\s+(\w+)\s+[\d.]+:(\d+)\s")
_MAILBOX_LINE = re.compile(r"^\s+mailbox\s+(\S+)\s+user\s+(\S+)\s+password\s+(\S+)")
READ_TIMEOUT = 30.0


@dataclass
class Running:
    process: asyncio.subprocess.Process
    ports: dict[str, int] = field(default_factory=dict)
    mailboxes: dict[str, str] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    async def read_banner(self, last_line: str = "") -> None:
        """Reads stdout up to the control line (the last of the sandbox's description), then up
        to a line starting with `last_line` when given."""
        while True:
            line = await self._line()
            if mailbox := _MAILBOX_LINE.match(line):
                self.mailboxes[mailbox[1]] = mailbox[3]
            elif listener := _LISTENER_LINE.match(line):
                self.ports[listener[1]] = int(listener[2])
                if listener[1] == "control":
                    break
        while last_line and not (await self._line()).startswith(last_line):
            pass

    async def stop(self) -> tuple[int, str]:
        """SIGTERM; the exit code and the rest of stdout."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), READ_TIMEOUT)
        code = await asyncio.wait_for(self.process.wait(), READ_TIMEOUT)
        return code, rest.decode()

    async def _line(self) -> str:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), READ_TIMEOUT)
        if not raw:
            assert self.process.stderr is not None
            errors = (await self.process.stderr.read()).decode()
            raise AssertionError(f"the command ended early: {''.join(self.output)}{errors}")
        line = raw.decode()
        self.output.append(line)
        return line


async def start(*args: str, env: dict[str, str] | None = None, last_line: str = "") -> Running:
    process = await asyncio.create_subprocess_exec(
        ERPMAIL,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    running = Running(process)
    await running.read_banner(last_line)
    return running


@pytest.fixture
async def sandbox_process(tmp_path: Path) -> AsyncIterator[Running]:
    running = await start(
        "sandbox",
        *ALL_PORTS_FREE,
        "--mailbox",
        "ops@example.com:pa:ss",
        "--cert-out",
        str(tmp_path / "sandbox.pem"),
    )
    yield running
    if running.process.returncode is None:
        running.process.kill()
        await running.process.wait()


async def test_sandbox_command_prints_ports_and_mailboxes_and_serves_mail(
    sandbox_process: Running, tmp_path: Path
) -> None:
    ports = sandbox_process.ports
    assert sandbox_process.mailboxes == {"ops@example.com": "pa:ss"}
    trusted = ssl.create_default_context(cafile=str(tmp_path / "sandbox.pem"))

    await send_mail(ports["smtp"], "erp@example.com", ["ops@example.com"], "via the CLI")

    def read_back() -> tuple[list[bytes], bytes]:
        pop = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
        try:
            pop.user("ops@example.com")
            pop.pass_("pa:ss")
            popped = pop.retr(1)[1]
        finally:
            pop.quit()
        with imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=10) as imap:
            imap.starttls(trusted)
            imap.login("ops@example.com", "pa:ss")
            imap.select("INBOX")
            _, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            fetched = data[0][1] if isinstance(data[0], tuple) else b""
            imap.logout()
        return popped, fetched

    popped, fetched = await asyncio.to_thread(read_back)
    assert b"Subject: via the CLI" in popped
    assert b"Subject: via the CLI" in fetched


async def test_sandbox_command_exits_cleanly_on_sigterm(sandbox_process: Running) -> None:
    code, rest = await sandbox_process.stop()

    assert code == 0
    assert "stopped" in rest
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sandbox_process.ports["smtp"]), timeout=5).close()


async def test_dev_command_creates_the_default_mailbox_and_reads_ports_from_the_environment(
    tmp_path: Path,
) -> None:
    env = {f"ERPMAIL_SANDBOX_{name.upper()}_PORT": "0" for name in LISTENERS}
    running = await start(
        "dev",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        str(tmp_path / "data"),
        env=env,
        # Signal handlers are in place once erpmail itself listens.
        last_line="erpmail listening",
    )
    try:
        assert running.mailboxes == {"erp@sandbox.test": "erp-sandbox"}
        assert all(port > 0 for port in running.ports.values())
    finally:
        code, _ = await running.stop()
    assert code == 0


async def test_a_bad_fault_spec_is_refused_with_its_reason() -> None:
    process = await asyncio.create_subprocess_exec(
        ERPMAIL,
        "sandbox",
        *ALL_PORTS_FREE,
        "--fault",
        "smtp.rcpt_to times=never",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), READ_TIMEOUT)

    assert process.returncode == 2
    assert "times" in stderr.decode()


async def test_a_taken_port_ends_the_command_with_an_error_naming_the_listener() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = [*ALL_PORTS_FREE]
        args[args.index("--imap-port") + 1] = str(port)
        process = await asyncio.create_subprocess_exec(
            ERPMAIL,
            "sandbox",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), READ_TIMEOUT)

    assert process.returncode == 1
    assert f"imap: cannot listen on 127.0.0.1:{port}" in stderr.decode()
