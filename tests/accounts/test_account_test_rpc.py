"""TestAccount: erpmail connects to the account's servers (here the sandbox) and reports each
step with the server's reply; failures are steps, never crashes or hangs."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from typing import TypeAlias

import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc, common_pb2
from google.protobuf import field_mask_pb2

Stub: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
ADDRESS, PASSWORD = "erp@sandbox.test", "erp-sandbox"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(SandboxConfig.ephemeral()) as running:
        running.store.create_mailbox(ADDRESS, PASSWORD)
        yield running


def sandbox_account(
    sandbox: Sandbox,
    protocol: pb.IncomingProtocol.ValueType = pb.INCOMING_PROTOCOL_IMAP,
    security: common_pb2.ConnectionSecurity.ValueType = common_pb2.CONNECTION_SECURITY_NONE,
    password: str = PASSWORD,
) -> pb.Account:
    tls = security == common_pb2.CONNECTION_SECURITY_SSL_TLS
    name = "imap" if protocol == pb.INCOMING_PROTOCOL_IMAP else "pop3"
    return pb.Account(
        account_id="sandbox",
        email_address=ADDRESS,
        display_name="ERP",
        incoming=pb.IncomingServer(
            protocol=protocol,
            host="127.0.0.1",
            port=sandbox.ports[name + ("s" if tls else "")],
            security=security,
            username=ADDRESS,
            password=password,
        ),
        outgoing=pb.OutgoingServer(
            host="127.0.0.1",
            port=sandbox.ports["smtps" if tls else "smtp"],
            security=security,
            requires_authentication=True,
        ),
        trusted_certificate_pem=sandbox.certificate.cert_pem.decode(),
    )


def steps(response: pb.TestAccountResponse) -> list[tuple[str, str, bool]]:
    server = {pb.TEST_STEP_SERVER_OUTGOING: "out", pb.TEST_STEP_SERVER_INCOMING: "in"}
    return [(server[s.server], s.name, s.ok) for s in response.steps]


async def test_a_working_imap_account_passes_every_step(accounts: Stub, sandbox: Sandbox) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=sandbox_account(sandbox)))

    result = await accounts.TestAccount(pb.TestAccountRequest(account_id="sandbox"))

    assert result.ok
    assert steps(result) == [
        ("out", "connect", True),
        ("out", "ehlo", True),
        ("out", "auth", True),
        ("in", "connect", True),
        ("in", "login", True),
        ("in", "select", True),
    ]
    assert result.steps[1].detail.startswith("250")


async def test_a_working_pop3_account_over_tls_passes(accounts: Stub, sandbox: Sandbox) -> None:
    account = sandbox_account(
        sandbox, pb.INCOMING_PROTOCOL_POP3, common_pb2.CONNECTION_SECURITY_SSL_TLS
    )
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account))

    result = await accounts.TestAccount(pb.TestAccountRequest(account_id="sandbox"))

    assert result.ok, [s.detail for s in result.steps]
    assert ("in", "stat", True) in steps(result)


async def test_the_test_email_reaches_the_accounts_own_address(
    accounts: Stub, sandbox: Sandbox
) -> None:
    await accounts.CreateAccount(pb.CreateAccountRequest(account=sandbox_account(sandbox)))

    result = await accounts.TestAccount(
        pb.TestAccountRequest(account_id="sandbox", send_test_email=True)
    )

    assert result.ok
    assert ("out", "send test email", True) in steps(result)
    (received,) = await sandbox.wait_for_messages(1, recipient=ADDRESS, timeout=10)
    assert received.auth_user == ADDRESS
    message = email.message_from_bytes(received.raw)
    assert message["From"].endswith(f"<{ADDRESS}>") and message["Message-ID"]


async def test_a_wrong_password_is_a_failed_step_with_the_servers_reply(
    accounts: Stub, sandbox: Sandbox
) -> None:
    account = sandbox_account(sandbox, password="wrong-password-9")
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account))

    result = await accounts.TestAccount(pb.TestAccountRequest(account_id="sandbox"))

    assert not result.ok
    failed = {(s.name, s.detail[:3]) for s in result.steps if not s.ok}
    assert ("auth", "535") in failed
    assert ("login", "NO ") in failed or any(n == "login" for n, _ in failed)
    assert "wrong-password-9" not in str(result)


async def test_a_closed_port_and_a_tls_mismatch_fail_without_hanging(
    accounts: Stub, sandbox: Sandbox
) -> None:
    account = sandbox_account(sandbox)
    account.outgoing.port = sandbox.ports["smtp"]
    account.outgoing.security = common_pb2.CONNECTION_SECURITY_SSL_TLS  # TLS to a plain port
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account))
    await sandbox.stop()  # nothing listens any more

    result = await accounts.TestAccount(pb.TestAccountRequest(account_id="sandbox"))

    assert not result.ok
    assert all(not s.ok for s in result.steps if s.name == "connect")
    assert "refused" in " ".join(s.detail for s in result.steps)


async def test_an_untrusted_certificate_is_refused(accounts: Stub, sandbox: Sandbox) -> None:
    account = sandbox_account(sandbox, security=common_pb2.CONNECTION_SECURITY_SSL_TLS)
    account.trusted_certificate_pem = ""
    await accounts.CreateAccount(pb.CreateAccountRequest(account=account))

    result = await accounts.TestAccount(pb.TestAccountRequest(account_id="sandbox"))

    assert not result.ok
    assert "certificate" in result.steps[0].detail

    trusted = pb.Account(
        account_id="sandbox", trusted_certificate_pem=sandbox.certificate.cert_pem.decode()
    )
    await accounts.UpdateAccount(
        pb.UpdateAccountRequest(
            account=trusted,
            update_mask=field_mask_pb2.FieldMask(paths=["trusted_certificate_pem"]),
        )
    )
    assert (await accounts.TestAccount(pb.TestAccountRequest(account_id="sandbox"))).ok
