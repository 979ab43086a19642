"""A server killed with SIGKILL in the middle of a mass mailing goes on with it when it starts
again, and queues every recipient exactly once: each batch's emails are committed together with
the recipients' outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from pathlib import Path

import grpc
from erpmail.sandbox.app import Sandbox
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import (
    accounts_pb2_grpc,
    emails_pb2_grpc,
    mailings_pb2_grpc,
    preferences_pb2_grpc,
    templates_pb2_grpc,
)
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import field_mask_pb2

from tests.mailings.messages import QUEUED, all_recipients, member, offer_template, recipient
from tests.support.outgoing import sandbox_account
from tests.support.process import Running

LISTENING = r"erpmail listening on (127\.0\.0\.1:\d+)"
RECIPIENTS = 8000


async def _serve(data_dir: Path) -> tuple[Running, str]:
    server = Running(
        ["serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--allow-anonymous"]
    )
    match = await asyncio.to_thread(server.wait_for_line, LISTENING)
    return server, match.group(1)


async def _prepare(channel: grpc.aio.Channel, sandbox: Sandbox) -> None:
    await accounts_pb2_grpc.AccountServiceStub(channel).CreateAccount(
        apb.CreateAccountRequest(account=sandbox_account(sandbox))
    )
    await templates_pb2_grpc.TemplateServiceStub(channel).CreateTemplate(
        tpb.CreateTemplateRequest(template=offer_template())
    )
    # Nothing is sent: the test is about queueing.
    await preferences_pb2_grpc.PreferencesServiceStub(channel).UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )


async def _outgoing_to(channel: grpc.aio.Channel) -> list[str]:
    """The To address of every outgoing email, page by page."""
    emails = emails_pb2_grpc.EmailServiceStub(channel)
    found: list[str] = []
    token = ""
    while True:
        page = await emails.ListEmails(epb.ListEmailsRequest(page_size=500, page_token=token))
        found += [a.address for e in page.emails for a in e.to]
        token = page.next_page_token
        if not token:
            return found


def _still_pending(data_dir: Path) -> int:
    """Recipients the killed server left pending, read from its database file."""
    with contextlib.closing(sqlite3.connect(data_dir / "erpmail.sqlite3")) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM mass_mailing_recipients WHERE outcome = 'pending'"
        ).fetchone()
    return int(count)


async def test_kill_9_during_a_mass_mailing_queues_everyone_exactly_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    server, address = await _serve(tmp_path)
    options = [("grpc.max_send_message_length", 64 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        await _prepare(channel, sandbox)
        mailings = mailings_pb2_grpc.MailingServiceStub(channel)
        started = await mailings.StartMassMailing(
            pb.StartMassMailingRequest(
                template_id="offer",
                recipients=[recipient(f"M-{i}", member(i)) for i in range(RECIPIENTS)],
            )
        )
        mailing_id = started.mass_mailing.mass_mailing_id
        async with asyncio.timeout(60):
            while True:
                got = await mailings.GetMassMailing(
                    pb.GetMassMailingRequest(mass_mailing_id=mailing_id)
                )
                if got.mass_mailing.queued:
                    break
                await asyncio.sleep(0.005)
    await asyncio.to_thread(server.stop, signal.SIGKILL)
    assert _still_pending(tmp_path) > 0, "the kill came after the mailing: nothing was tested"

    server, address = await _serve(tmp_path)
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            mailings = mailings_pb2_grpc.MailingServiceStub(channel)
            async for event in mailings.WatchMassMailing(
                pb.WatchMassMailingRequest(mass_mailing_id=mailing_id), timeout=60
            ):
                done = event.mass_mailing
            listed = await all_recipients(mailings, mailing_id)
            sent_to = await _outgoing_to(channel)
    finally:
        await asyncio.to_thread(server.stop)

    assert (done.queued, done.failed, done.total) == (RECIPIENTS, 0, RECIPIENTS)
    assert {r.outcome for r in listed} == {QUEUED}
    assert len({r.email_id for r in listed}) == RECIPIENTS
    assert sorted(sent_to) == sorted(f"member{i}@customer.test" for i in range(RECIPIENTS))
