"""erpmailctl run as a process against a real erpmail server and sandbox: what it prints, and
the exit codes scripts rely on (0 ok, 1 failed, 2 usage, 3 unreachable, 4 refused, 5 not found,
6 not allowed)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from erpmail.sandbox.app import Sandbox
from erpmail.sandbox.faults import parse_rule_spec
from erpmail.server.app import ErpmailServer
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, templates_pb2, templates_pb2_grpc
from erpmail.v1 import emails_pb2 as pb

from tests.clients.conftest import free_port
from tests.support.outgoing import (
    ADDRESS,
    PASSWORD,
    email,
    sandbox_account,
    wait_until,
)

CTL = str(Path(sys.executable).parent / "erpmailctl")
RUN_TIMEOUT = 30.0


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    # The tests' own ERPMAIL_* settings must not reach the command.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ERPMAIL_")}
    return {**clean, **(extra or {})}


async def _start(
    address: str, args: tuple[str, ...], env: dict[str, str] | None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        CTL,
        "--address",
        address,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_environment(env),
    )


async def ctl(address: str, *args: str, env: dict[str, str] | None = None) -> Ran:
    process = await _start(address, args, env)
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


@pytest.fixture
async def channel(server: ErpmailServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(server.address) as opened:
        yield opened


@pytest.fixture
def emails(channel: grpc.aio.Channel) -> emails_pb2_grpc.EmailServiceAsyncStub:
    return emails_pb2_grpc.EmailServiceStub(channel)


@pytest.fixture
async def account(channel: grpc.aio.Channel, sandbox: Sandbox) -> apb.Account:
    """The send-only account "sandbox" on the sandbox's plain SMTP port."""
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    request = apb.CreateAccountRequest(account=sandbox_account(sandbox))
    created: apb.Account = (await accounts.CreateAccount(request)).account
    return created


async def _sent(emails: emails_pb2_grpc.EmailServiceAsyncStub, subject: str) -> pb.Email:
    request = pb.CreateEmailRequest(email=email(subject=subject), submit=True)
    (created,) = (await emails.CreateEmail(request)).emails
    (done,) = await wait_until(emails, [created.email_id])
    return done


async def test_accounts_create_then_list_shows_it_as_a_table_and_as_json(
    server: ErpmailServer, sandbox: Sandbox, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    smtp = f"127.0.0.1:{sandbox.ports['smtp']}"

    created = await ctl(
        server.address, "accounts", "create", "sales", "--email", ADDRESS, "--name", "Sales",
        "--smtp", smtp, "--security", "none", "--username", ADDRESS,
        "--password-file", str(password_file),
    )  # fmt: skip
    table = await ctl(server.address, "accounts", "list")
    as_json = await ctl(server.address, "accounts", "list", "--json")

    assert (created.code, created.err) == (0, "")
    assert "created account sales" in created.out
    assert table.code == 0
    header, row = table.out.splitlines()
    assert header.split()[:5] == ["ID", "ADDRESS", "USAGE", "INCOMING", "OUTGOING"]
    assert row.split()[:4] == ["sales", ADDRESS, "send-only", smtp]
    (listed,) = as_json.json()
    assert listed["account_id"] == "sales"
    assert listed["outgoing"]["password_set"] is False  # the login is the incoming one
    assert listed["incoming"]["password_set"] is True
    for ran in (created, table, as_json):
        assert PASSWORD not in ran.out + ran.err


async def test_accounts_test_prints_each_step_and_exits_0_when_all_pass(
    server: ErpmailServer, account: apb.Account
) -> None:
    ran = await ctl(server.address, "accounts", "test", "sandbox")

    assert ran.code == 0, ran.err
    steps = ran.out.splitlines()[:-1]
    assert steps and all(line.startswith("ok") for line in steps)
    assert any("outgoing" in line and "connect" in line for line in steps)
    assert ran.out.splitlines()[-1] == "all steps passed"


async def test_accounts_test_exits_1_with_the_failed_step_against_a_closed_port(
    server: ErpmailServer, channel: grpc.aio.Channel, sandbox: Sandbox
) -> None:
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    closed = sandbox_account(sandbox, "closed", port=free_port())
    await accounts.CreateAccount(apb.CreateAccountRequest(account=closed))

    ran = await ctl(server.address, "accounts", "test", "closed")

    assert ran.code == 1
    assert any(line.startswith("FAIL") and "connect" in line for line in ran.out.splitlines())


async def test_send_wait_exits_0_once_the_sandbox_received_the_email(
    server: ErpmailServer, account: apb.Account, sandbox: Sandbox, tmp_path: Path
) -> None:
    invoice = tmp_path / "invoice-42.pdf"
    invoice.write_bytes(b"%PDF-1.4 invoice")

    ran = await ctl(
        server.address, "send", "--account", "sandbox", "--to", "Ann <ann@example.com>",
        "--subject", "Invoice 42", "--body", "Attached.", "--attach", str(invoice), "--wait",
    )  # fmt: skip

    assert ran.code == 0, ran.err
    email_id, status = ran.out.split()
    assert status == "processed"
    (received,) = sandbox.received_messages("ann@example.com")
    assert b"Invoice 42" in received.raw and b"invoice-42.pdf" in received.raw
    assert email_id.isdigit()


async def test_send_wait_exits_1_with_the_reason_when_the_sandbox_refuses_with_550(
    server: ErpmailServer, account: apb.Account, sandbox: Sandbox
) -> None:
    sandbox.faults.add(parse_rule_spec("smtp.end_of_data reply=550 text='5.7.1 rejected'"))

    ran = await ctl(
        server.address, "send", "--account", "sandbox", "--to", "ann@example.com",
        "--subject", "Refused", "--body", "-", "--wait", "--json",
    )  # fmt: skip

    assert ran.code == 1
    assert ran.json()["status"] == "EMAIL_STATUS_FAILED"
    assert "550" in ran.err and "rejected" in ran.err
    assert sandbox.received_messages() == []


async def test_send_template_fills_the_template_with_the_data_and_waits_for_it(
    server: ErpmailServer,
    account: apb.Account,
    channel: grpc.aio.Channel,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    templates = templates_pb2_grpc.TemplateServiceStub(channel)
    template = templates_pb2.Template(
        template_id="order-confirmation", description="Order confirmation",
        subject="Order ((Order.Number)) confirmed", text_body="Dear ((Name)), thank you.",
    )  # fmt: skip
    await templates.CreateTemplate(templates_pb2.CreateTemplateRequest(template=template))
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"Name": "Ann", "Order": {"Number": "SO-77"}}))

    ran = await ctl(
        server.address, "send-template", "order-confirmation", "--data", f"@{data}",
        "--account", "sandbox", "--to", "ann@example.com", "--wait",
    )  # fmt: skip

    assert ran.code == 0, ran.err
    assert ran.out.split()[1] == "processed"
    (received,) = sandbox.received_messages("ann@example.com")
    assert b"Order SO-77 confirmed" in received.raw and b"Dear Ann" in received.raw


async def test_invalid_input_exits_4_naming_the_field_on_stderr(
    server: ErpmailServer, account: apb.Account
) -> None:
    ran = await ctl(
        server.address, "send", "--account", "sandbox", "--to", "not-an-address", "--body", "x"
    )

    assert ran.code == 4
    assert "INVALID_ARGUMENT" in ran.err
    assert "email.to[0].address: is not an email address" in ran.err
    assert ran.out == ""


async def test_an_unknown_email_id_exits_5(server: ErpmailServer) -> None:
    ran = await ctl(server.address, "mail", "show", "987654")

    assert ran.code == 5
    assert ran.err.startswith("erpmailctl: NOT_FOUND")


async def test_an_unreachable_address_exits_3() -> None:
    ran = await ctl(f"127.0.0.1:{free_port()}", "accounts", "list", "--timeout", "5")

    assert ran.code == 3
    assert "UNAVAILABLE" in ran.err or "DEADLINE_EXCEEDED" in ran.err
    assert "Traceback" not in ran.err


async def test_a_usage_error_exits_2(server: ErpmailServer, tmp_path: Path) -> None:
    bad_option = await ctl(server.address, "mail", "list", "--view", "nowhere")
    bad_json = await ctl(server.address, "send-template", "t", "--data", "{not json")
    no_key_file = await ctl(
        server.address, "--api-key-file", str(tmp_path / "missing"), "accounts", "list"
    )

    assert bad_option.code == 2
    assert bad_json.code == 2 and "--data is not JSON" in bad_json.err
    assert no_key_file.code == 2
    assert "cannot read --api-key-file" in no_key_file.err


async def test_with_keys_required_no_key_exits_6_and_a_key_file_works_without_showing_it(
    tmp_path: Path, keyed_server: ErpmailServer, admin_key: str
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(admin_key + "\n")
    secret = admin_key

    refused = await ctl(keyed_server.address, "accounts", "list")
    let_in = await ctl(keyed_server.address, "accounts", "list", "--api-key-file", str(key_file))
    from_env = await ctl(keyed_server.address, "mail", "list", env={"ERPMAIL_API_KEY": secret})

    assert refused.code == 6
    assert "UNAUTHENTICATED" in refused.err
    assert (let_in.code, from_env.code) == (0, 0)
    for ran in (refused, let_in, from_env):
        assert secret not in ran.out + ran.err


async def test_watch_count_prints_n_json_lines_the_current_state_then_live_changes(
    server: ErpmailServer, account: apb.Account, emails: emails_pb2_grpc.EmailServiceAsyncStub
) -> None:
    first = await _sent(emails, "First")
    args = ("watch", "--current", "--status", "processed", "--count", "2", "--json")
    process = await _start(server.address, args, None)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            current = await process.stdout.readline()  # the stream is open: changes will come
            second = await _sent(emails, "Second")
            rest, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, err
    lines = [current, *rest.splitlines()]
    changes = [json.loads(line) for line in lines]
    assert [c["email"]["email_id"] for c in changes] == [first.email_id, second.email_id]
    assert {c["email"]["status"] for c in changes} == {"EMAIL_STATUS_PROCESSED"}


async def test_watch_ends_with_0_and_no_traceback_on_ctrl_c(
    server: ErpmailServer, account: apb.Account, emails: emails_pb2_grpc.EmailServiceAsyncStub
) -> None:
    sent = await _sent(emails, "Watched")
    process = await _start(server.address, ("watch", "--current"), None)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            line = (await process.stdout.readline()).decode()
            process.send_signal(signal.SIGINT)
            _, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert sent.email_id in line and "processed" in line and "Watched" in line
    assert process.returncode == 0
    assert b"Traceback" not in err


async def test_run_all_prints_each_account_s_result(
    server: ErpmailServer, channel: grpc.aio.Channel, sandbox: Sandbox
) -> None:
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    for account_id in ("north", "south"):
        request = apb.CreateAccountRequest(account=sandbox_account(sandbox, account_id))
        await accounts.CreateAccount(request)

    ran = await ctl(server.address, "run", "all")

    assert ran.code == 0, ran.err
    header, *rows = ran.out.splitlines()
    assert header.split()[:3] == ["ACCOUNT", "RESULT", "SENT"]
    assert [row.split()[:3] for row in rows] == [["north", "ok", "0"], ["south", "ok", "0"]]


async def test_run_exits_1_when_an_account_reports_an_error(
    server: ErpmailServer, account: apb.Account
) -> None:
    ran = await ctl(server.address, "run", "receive", "--account", "sandbox", "--json")

    assert ran.code == 1
    (report,) = ran.json()["reports"]
    assert report["account_id"] == "sandbox"
    assert "does not receive" in report["receive"]["error"]


async def test_mail_search_finds_email_by_a_word(
    server: ErpmailServer, account: apb.Account, emails: emails_pb2_grpc.EmailServiceAsyncStub
) -> None:
    wanted = await _sent(emails, "Quarterly statement")
    await _sent(emails, "Delivery note")

    ran = await ctl(server.address, "mail", "search", "quarterly", "--json")
    table = await ctl(server.address, "mail", "list", "--view", "outgoing")

    assert ran.code == 0, ran.err
    assert [e["email_id"] for e in ran.json()] == [wanted.email_id]
    assert table.code == 0
    assert len(table.out.splitlines()) == 3  # header and both emails


async def test_process_sends_a_pending_email_now_and_reports_it(
    server: ErpmailServer,
    account: apb.Account,
    emails: emails_pb2_grpc.EmailServiceAsyncStub,
    sandbox: Sandbox,
) -> None:
    later = email(subject="Not yet")
    later.earliest_send_time.FromSeconds(4_000_000_000)  # the dispatcher leaves it alone
    (created,) = (await emails.CreateEmail(pb.CreateEmailRequest(email=later, submit=True))).emails

    ran = await ctl(server.address, "process", created.email_id)

    assert ran.code == 0, ran.err
    _, row = ran.out.splitlines()
    assert row.split()[:3] == [created.email_id, "processed", "sandbox"]
    assert len(sandbox.received_messages("customer@example.com")) == 1
