"""WaitForMessages: a long poll that answers when enough mail has arrived over SMTP, or when its
time is up, never by polling the store."""

from __future__ import annotations

import grpc
import pytest
from erpmail.sandbox.pytest_plugin import SandboxFixture
from erpmail.v1 import sandbox_pb2 as pb
from google.protobuf import duration_pb2

from tests.sandbox.control.support import field_violations, send_mail


def seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(int(value * 1e9))
    return duration


async def test_wait_completes_when_the_messages_arrive_over_smtp(
    erpmail_sandbox: SandboxFixture,
) -> None:
    # The call starts at once; awaiting it later collects the answer.
    waiting = erpmail_sandbox.stub.WaitForMessages(
        pb.WaitForMessagesRequest(count=2, timeout=seconds(60))
    )
    await erpmail_sandbox.stub.GetInfo(pb.GetInfoRequest())
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"], "one")
    assert not waiting.done()

    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"], "two")
    response = await waiting

    assert not response.timed_out
    assert [m.subject for m in response.messages] == ["one", "two"]


async def test_wait_times_out_empty_when_nothing_arrives(erpmail_sandbox: SandboxFixture) -> None:
    response = await erpmail_sandbox.stub.WaitForMessages(
        pb.WaitForMessagesRequest(count=1, timeout=seconds(0.2))
    )

    assert response.timed_out
    assert list(response.messages) == []


async def test_wait_answers_before_a_shorter_call_deadline_instead_of_failing(
    erpmail_sandbox: SandboxFixture,
) -> None:
    response = await erpmail_sandbox.stub.WaitForMessages(
        pb.WaitForMessagesRequest(count=1, timeout=seconds(120)), timeout=2
    )

    assert response.timed_out


async def test_wait_for_a_recipient_ignores_mail_to_others(
    erpmail_sandbox: SandboxFixture,
) -> None:
    waiting = erpmail_sandbox.stub.WaitForMessages(
        pb.WaitForMessagesRequest(recipient="b@example.com", timeout=seconds(60))
    )
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"], "for a")
    await erpmail_sandbox.stub.GetInfo(pb.GetInfoRequest())
    assert not waiting.done()

    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["b@example.com"], "for b")
    response = await waiting

    assert [m.subject for m in response.messages] == ["for b"]


async def test_wait_after_an_id_counts_only_later_messages(
    erpmail_sandbox: SandboxFixture,
) -> None:
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"], "old")
    old_id = erpmail_sandbox.received[-1].id

    before = await erpmail_sandbox.stub.WaitForMessages(
        pb.WaitForMessagesRequest(after_id=old_id, timeout=seconds(0.2))
    )
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"], "new")
    after = await erpmail_sandbox.stub.WaitForMessages(
        pb.WaitForMessagesRequest(after_id=old_id, timeout=seconds(60))
    )

    assert before.timed_out
    assert [m.subject for m in after.messages] == ["new"]


async def test_fixture_wait_raises_timeout_error_saying_how_many_arrived(
    erpmail_sandbox: SandboxFixture,
) -> None:
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"])

    with pytest.raises(TimeoutError, match="1 of 2"):
        await erpmail_sandbox.wait_for_messages(2, timeout=0.2)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.WaitForMessagesRequest(count=-1), "count"),
        (pb.WaitForMessagesRequest(after_id=-5), "after_id"),
        (pb.WaitForMessagesRequest(timeout=seconds(-1)), "timeout"),
        (pb.WaitForMessagesRequest(timeout=seconds(3600)), "timeout"),
    ],
)
async def test_bad_wait_input_names_the_field(
    erpmail_sandbox: SandboxFixture, request_: pb.WaitForMessagesRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.WaitForMessages(request_)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)
