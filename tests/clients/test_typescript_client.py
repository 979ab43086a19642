"""The TypeScript client (clients/typescript) against a real erpmail server and sandbox: its
first-email example sends a template email that the sandbox receives, its own node:test suite
passes, and both authenticate with the API key they are given. They run as Node processes on the
build that scripts/setup-typescript makes."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
from pathlib import Path

import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.server.app import ErpmailServer

from tests.support.outgoing import ADDRESS, PASSWORD

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "typescript"
EXAMPLE = CLIENT / "dist" / "examples" / "first-email.js"
TIMEOUT = 120.0


@pytest.fixture
def client_env(server: ErpmailServer, sandbox: Sandbox) -> dict[str, str]:
    return environment(server, sandbox)


def environment(server: ErpmailServer, sandbox: Sandbox) -> dict[str, str]:
    """The variables the example and the tests read, pointing at this server and sandbox."""
    assert EXAMPLE.exists(), "the TypeScript client is not built: run ./scripts/setup-typescript"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("ERPMAIL_")}
    return {
        **inherited,
        "ERPMAIL_ADDRESS": server.address,
        "ERPMAIL_SANDBOX_HOST": sandbox.host,
        "ERPMAIL_SANDBOX_SMTP_PORT": str(sandbox.ports["smtp"]),
        "ERPMAIL_SANDBOX_IMAP_PORT": str(sandbox.ports["imap"]),
        "ERPMAIL_SANDBOX_CONTROL": sandbox.control_address,
        "ERPMAIL_SANDBOX_ADDRESS": ADDRESS,
        "ERPMAIL_SANDBOX_PASSWORD": PASSWORD,
    }


async def run(env: dict[str, str], *command: str) -> tuple[int, str]:
    """Runs a command in clients/typescript; returns its exit code and output (both streams).
    The server runs on this event loop, so the wait must not block it."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=CLIENT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # npm starts node: a timeout ends the whole group
    )
    try:
        async with asyncio.timeout(TIMEOUT):
            output, _ = await process.communicate()
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = await process.communicate()
        raise AssertionError(f"{command} ran over {TIMEOUT} s:\n{output.decode()}") from None
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_example_sends_a_template_email_the_sandbox_receives_and_can_run_again(
    client_env: dict[str, str], sandbox: Sandbox
) -> None:
    for run_number in (1, 2):
        code, output = await run(client_env, "node", str(EXAMPLE))
        assert code == 0, output
        assert "PROCESSED" in output, output
        assert len(sandbox.store.received) == run_number, output

    for received in sandbox.store.received:
        assert received.rcpt_tos == ["ada@customer.test"]
        assert received.auth_user == ADDRESS
        message = email.message_from_bytes(received.raw, policy=email.policy.default)
        assert "Welcome, Ada Lovelace" in str(message["Subject"])
        body = message.get_body(("plain",))
        assert body is not None
        assert "Dear Ada Lovelace," in body.get_content()


async def test_typescript_client_suite_passes_against_a_real_server(
    client_env: dict[str, str],
) -> None:
    code, output = await run(client_env, "npm", "test", "--silent")
    assert code == 0, output
    assert "# fail 0" in output, output


async def test_client_authenticates_with_the_api_key_it_is_given(
    keyed_server: ErpmailServer, sandbox: Sandbox, admin_key: str
) -> None:
    env = environment(keyed_server, sandbox)
    code, output = await run(env, "node", str(EXAMPLE))
    assert code == 1, output
    assert "UNAUTHENTICATED" in output, output

    env["ERPMAIL_API_KEY"] = admin_key
    code, output = await run(env, "node", str(EXAMPLE))
    assert code == 0, output
    code, output = await run(env, "npm", "test", "--silent")
    assert code == 0, output
    assert "# fail 0" in output, output
