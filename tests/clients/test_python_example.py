"""The Python client's example (clients/python/examples/first_email.py) runs as a process
against a real erpmail server and sandbox, and the sandbox receives its email."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer

from tests.support.outgoing import ADDRESS, PASSWORD, fast_server, sandbox_with_mailbox

EXAMPLE = Path(__file__).parents[2] / "clients" / "python" / "examples" / "first_email.py"


async def run_example(server: ErpmailServer, sandbox: Sandbox) -> tuple[int, str]:
    env = {
        **os.environ,
        "ERPMAIL_ADDRESS": server.address,
        "ERPMAIL_SANDBOX_HOST": "127.0.0.1",
        "ERPMAIL_SANDBOX_SMTP_PORT": str(sandbox.ports["smtp"]),
        "ERPMAIL_SANDBOX_IMAP_PORT": str(sandbox.ports["imap"]),
        "ERPMAIL_SANDBOX_ADDRESS": ADDRESS,
        "ERPMAIL_SANDBOX_PASSWORD": PASSWORD,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_the_example_sends_a_template_email_and_sees_it_processed(tmp_path: Path) -> None:
    async with sandbox_with_mailbox() as sandbox, fast_server(tmp_path) as server:
        code, output = await run_example(server, sandbox)
        assert code == 0, output
        assert "processed: sent to kari@customer.test" in output
        [received] = sandbox.store.received
        assert received.rcpt_tos == ["kari@customer.test"]
        assert b"Subject: Welcome, Kari Nordmann" in received.raw


async def test_the_example_runs_again_reusing_its_account_and_template(tmp_path: Path) -> None:
    async with sandbox_with_mailbox() as sandbox, fast_server(tmp_path) as server:
        first, _ = await run_example(server, sandbox)
        second, output = await run_example(server, sandbox)
    assert (first, second) == (0, 0), output
