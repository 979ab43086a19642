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


async def test_kill_9_during_a_send_run_loses_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    # Each message takes a moment, so that the kill lands in the middle of the run.
    sandbox.faults.add(parse_rule_spec("smtp.end_of_data delay=0.01"))
    server, address = await _serve(tmp_path)
    async with grpc.aio.insecure_channel(address) as channel:
        accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        preferences = preferences_pb2_grpc.PreferencesServiceStub(channel)
        emails = emails_pb2_grpc.EmailServiceStub(channel)
        suspend = field_mask_pb2.FieldMask(paths=["suspend_processing"])
        await accounts.CreateAccount(apb.CreateAccountRequest(account=sandbox_account(sandbox)))
        await preferences.UpdatePreferences(
            ppb.UpdatePreferencesRequest(
                preferences=ppb.Preferences(suspend_processing=True), update_mask=suspend
            )
        )
        created = await emails.BatchCreateEmails(
            pb.BatchCreateEmailsRequest(
                requests=[
                    pb.CreateEmailRequest(email=email(f"c{i}@example.com"), submit=True)
                    for i in range(EMAILS)
                ]
            )
        )
        message_ids = {e.message_id for e in created.emails}
        await preferences.UpdatePreferences(
            ppb.UpdatePreferencesRequest(
                preferences=ppb.Preferences(suspend_processing=False), update_mask=suspend
            )
        )
        await sandbox.wait_for_messages(EMAILS // 4, timeout=30)
    await asyncio.to_thread(server.stop, signal.SIGKILL)
    delivered_before_kill = len(sandbox.received_messages())
    assert delivered_before_kill < EMAILS, "the kill came after the run: nothing was tested"

    server, address = await _serve(tmp_path)
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

    sent = Counter(
        email_parser.message_from_bytes(m.raw)["Message-ID"] for m in sandbox.received_messages()
    )
    assert set(sent) == message_ids, "every email arrived"
    # At least once: only the few in flight at the kill may have arrived twice.
    assert sum(sent.values()) - EMAILS <= 5
