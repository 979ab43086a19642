"""ListReceivedMessages and GetReceivedMessage: what arrived over SMTP, as the control service
reports it."""

from __future__ import annotations

import grpc
import pytest
from erpmail.sandbox.pytest_plugin import SandboxFixture
from erpmail.v1 import sandbox_pb2 as pb

from tests.sandbox.control.support import field_violations, resource_name, send_mail


async def test_received_message_reports_envelope_headers_and_size(
    erpmail_sandbox: SandboxFixture,
) -> None:
    sent = await send_mail(
        erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com", "b@example.com"], "Q3"
    )

    response = await erpmail_sandbox.stub.ListReceivedMessages(pb.ListReceivedMessagesRequest())

    [message] = response.messages
    assert message.envelope_from == "erp@example.com"
    assert list(message.envelope_to) == ["a@example.com", "b@example.com"]
    assert message.subject == "Q3"
    assert message.message_id == sent["Message-ID"]
    assert message.size_bytes == len(erpmail_sandbox.received[0].raw)
    assert message.receive_time.seconds > 0
    assert (message.tls, message.auth_mechanism, message.auth_user) == (False, "", "")
    assert message.raw == b""  # the BASIC view leaves the bytes out


async def test_full_view_and_get_return_the_raw_bytes(erpmail_sandbox: SandboxFixture) -> None:
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"])
    raw = erpmail_sandbox.received[0].raw

    listed = await erpmail_sandbox.stub.ListReceivedMessages(
        pb.ListReceivedMessagesRequest(view=pb.RECEIVED_MESSAGE_VIEW_FULL)
    )
    got = await erpmail_sandbox.stub.GetReceivedMessage(
        pb.GetReceivedMessageRequest(id=listed.messages[0].id)
    )

    assert listed.messages[0].raw == raw
    assert got.message.raw == raw


async def test_received_messages_are_filtered_by_recipient_ignoring_case(
    erpmail_sandbox: SandboxFixture,
) -> None:
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"], "for a")
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["b@example.com"], "for b")

    response = await erpmail_sandbox.stub.ListReceivedMessages(
        pb.ListReceivedMessagesRequest(recipient="B@Example.com")
    )

    assert [m.subject for m in response.messages] == ["for b"]


async def test_received_messages_are_listed_oldest_first_page_by_page(
    erpmail_sandbox: SandboxFixture,
) -> None:
    for number in range(3):
        await send_mail(
            erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"], f"#{number}"
        )

    first = await erpmail_sandbox.stub.ListReceivedMessages(
        pb.ListReceivedMessagesRequest(page_size=2)
    )
    second = await erpmail_sandbox.stub.ListReceivedMessages(
        pb.ListReceivedMessagesRequest(page_size=2, page_token=first.next_page_token)
    )

    assert [m.subject for m in first.messages] == ["#0", "#1"]
    assert [m.subject for m in second.messages] == ["#2"]
    assert second.next_page_token == ""


async def test_session_security_and_login_are_recorded(erpmail_sandbox: SandboxFixture) -> None:
    erpmail_sandbox.create_mailbox("erp@example.com", "pw")

    await send_mail(
        erpmail_sandbox.smtp_port,
        "erp@example.com",
        ["a@example.com"],
        starttls=erpmail_sandbox.client_ssl_context(),
        login=("erp@example.com", "pw"),
    )

    [message] = (
        await erpmail_sandbox.stub.ListReceivedMessages(pb.ListReceivedMessagesRequest())
    ).messages
    assert message.tls
    assert message.auth_mechanism in {"PLAIN", "LOGIN"}
    assert message.auth_user == "erp@example.com"


async def test_get_of_an_unknown_id_is_not_found(erpmail_sandbox: SandboxFixture) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.GetReceivedMessage(pb.GetReceivedMessageRequest(id=99))

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert resource_name(caught.value) == "99"


async def test_get_without_an_id_is_invalid_argument(erpmail_sandbox: SandboxFixture) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.GetReceivedMessage(pb.GetReceivedMessageRequest())

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "id" in field_violations(caught.value)


async def test_an_unknown_view_is_invalid_argument(erpmail_sandbox: SandboxFixture) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.ListReceivedMessages(pb.ListReceivedMessagesRequest(view=42))  # type: ignore[arg-type]

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "view" in field_violations(caught.value)
