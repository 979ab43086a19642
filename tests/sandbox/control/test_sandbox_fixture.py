"""The pytest plugin: the `erpmail_sandbox` fixture as its docstring shows it, its configuration
fixture, and an import that costs projects not using it nothing."""

from __future__ import annotations

import subprocess
import sys

import aiosmtplib
import pytest
from erpmail.sandbox.app import SandboxConfig
from erpmail.sandbox.pytest_plugin import SandboxFixture
from erpmail.v1 import sandbox_pb2 as pb


async def test_invoice_mail_reaches_the_customer(erpmail_sandbox: SandboxFixture) -> None:
    # The example of the plugin's docstring (and the README), as it stands there.
    erpmail_sandbox.create_mailbox("buyer@shop.test", "secret")
    message = b"Subject: Invoice 42\r\n\r\nPlease find it attached."
    await aiosmtplib.send(message, sender="erp@example.com", recipients=["buyer@shop.test"],
                          hostname="127.0.0.1", port=erpmail_sandbox.smtp_port,
                          tls_context=erpmail_sandbox.client_ssl_context())  # fmt: skip
    [received] = await erpmail_sandbox.wait_for_messages(1, timeout=5)
    assert received.rcpt_tos == ["buyer@shop.test"] and received.tls


async def test_fixture_stub_talks_to_the_same_sandbox(erpmail_sandbox: SandboxFixture) -> None:
    erpmail_sandbox.create_mailbox("a@example.com", "pw")

    listed = await erpmail_sandbox.stub.ListMailboxes(pb.ListMailboxesRequest())

    assert [m.address for m in listed.mailboxes] == ["a@example.com"]


class TestAConfigOverride:
    @pytest.fixture
    def erpmail_sandbox_config(self) -> SandboxConfig:
        return SandboxConfig.ephemeral(auth_required=True)

    async def test_overridden_config_is_the_one_the_sandbox_runs_with(
        self, erpmail_sandbox: SandboxFixture
    ) -> None:
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await aiosmtplib.send(
                b"Subject: x\r\n\r\nx",
                sender="erp@example.com",
                recipients=["a@example.com"],
                hostname="127.0.0.1",
                port=erpmail_sandbox.smtp_port,
                start_tls=False,
                timeout=10,
            )

        assert refused.value.code == 530
        assert erpmail_sandbox.received == []


def test_importing_the_plugin_loads_neither_grpc_nor_the_servers() -> None:
    probe = (
        "import sys, erpmail.sandbox.pytest_plugin; "
        "heavy = [m for m in ('grpc', 'erpmail.sandbox.app', 'aiosmtpd') if m in sys.modules]; "
        "print(heavy)"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"
