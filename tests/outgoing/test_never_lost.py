"""A server killed with SIGKILL in the middle of a send run loses no email: on restart the
emails left in process are sent again (at least once, with the same Message-ID)."""

from __future__ import annotations

import asyncio
import email as email_parser
import signal
from collections import Counter
from pathlib import Path

import grpc
from erpmail.sandbox.app import Sandbox
from erpmail.sandbox.faults import parse_rule_spec
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from google.protobuf import field_mask_pb2

from tests.support.outgoing import email, sandbox_account
from tests.support.process import Running

LISTENING = r"erpmail listening on (127\.0\.0\.1:\d+)"
EMAILS = 200


async def _serve(data_dir: Path) -> tuple[Running, str]:
    server = Running(
        ["serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--allow-anonymous"]
    )
    match = await asyncio.to_thread(server.wait_for_line, LISTENING)
    return server, match.group(1)


async def _suspend(channel: grpc.aio.Channel, on: bool) -> None:
    preferences = preferences_pb2_grpc.PreferencesServiceStub(channel)
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=on),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )


async def _queue_held_back(
    channel: grpc.aio.Channel, sandbox: Sandbox
) -> pb.BatchCreateEmailsResponse:
    """The sandbox account and EMAILS pending emails, with processing suspended."""
    accounts = accounts_pb2_grpc.AccountServiceStub(channel)
    await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
    await _suspend(channel, True)
    return await emails_pb2_grpc.EmailServiceStub(channel).BatchCreateEmails(
        pb.BatchCreateEmailsRequest(
            requests=[
                pb.CreateEmailRequest(email=email(f"c{i}@example.com"), submit=True)
                for i in range(EMAILS)
            ]
        )
    )


async def _restart_until_every_email_is_processed(data_dir: Path, sandbox: Sandbox) -> Counter[str]:
    """Starts erpmail again on the data folder, waits until all EMAILS are processed, stops it;
    then how many times the sandbox received each Message-ID."""
    server, address = await _serve(data_dir)
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            emails = emails_pb2_grpc.EmailServiceStub(channel)
            async with asyncio.timeout(60):
                while True:
                    listed = await emails.ListEmails(
                        pb.ListEmailsRequest(statuses=[pb.EMAIL_STATUS_PROCESSED], page_size=500)
                    )
                    if len(listed.emails) == EMAILS:
                        break
                    await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(server.stop)
    return Counter(
        str(email_parser.message_from_bytes(m.raw)["Message-ID"])
        for m in sandbox.received_messages()
    )


async def test_kill_9_during_a_send_run_loses_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    # Each message takes a moment, so that the kill lands in the middle of the run.
    sandbox.faults.add(parse_rule_spec("smtp.end_of_data delay=0.01"))
    server, address = await _serve(tmp_path)
    async with grpc.aio.insecure_channel(address) as channel:
        created = await _queue_held_back(channel, sandbox)
        message_ids = {e.message_id for e in created.emails}
        await _suspend(channel, False)
        await sandbox.wait_for_messages(EMAILS // 4, timeout=30)
    await asyncio.to_thread(server.stop, signal.SIGKILL)
    delivered_before_kill = len(sandbox.received_messages())
    assert delivered_before_kill < EMAILS, "the kill came after the run: nothing was tested"

    sent = await _restart_until_every_email_is_processed(tmp_path, sandbox)
    assert set(sent) == message_ids, "every email arrived"
    # At least once: only the few in flight at the kill may have arrived twice.
    assert sum(sent.values()) - EMAILS <= 5


async def test_an_email_reported_processed_is_not_sent_again_after_a_kill_9(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Outcomes are committed in groups; the watch may report one only once its group is
    # committed, so a kill right after a report never makes that email go out again.
    sandbox.faults.add(parse_rule_spec("smtp.end_of_data delay=0.01"))
    server, address = await _serve(tmp_path)
    async with grpc.aio.insecure_channel(address) as channel:
        emails = emails_pb2_grpc.EmailServiceStub(channel)
        created = await _queue_held_back(channel, sandbox)
        message_ids = {e.email_id: e.message_id for e in created.emails}
        watch = emails.WatchEmails(pb.WatchEmailsRequest(statuses=[pb.EMAIL_STATUS_PROCESSED]))
        events = watch.__aiter__()
        await _suspend(channel, False)
        reported: set[str] = set()
        async with asyncio.timeout(30):
            while len(reported) < EMAILS // 4:
                event = await anext(events)
                if event.HasField("change"):
                    reported.add(event.change.email.email_id)
        # Killed at once after the last report, while outcomes are still arriving.
        await asyncio.to_thread(server.stop, signal.SIGKILL)
        watch.cancel()
    assert len(sandbox.received_messages()) < EMAILS, "the kill came after the run"

    sent = await _restart_until_every_email_is_processed(tmp_path, sandbox)
    assert set(sent) == set(message_ids.values()), "every email arrived"
    assert {email_id: sent[message_ids[email_id]] for email_id in reported} == {
        email_id: 1 for email_id in reported
    }, "an email reported processed was sent again"
