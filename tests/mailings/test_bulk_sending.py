"""Emails of a mass mailing are queued without their message: it is composed at the first
attempt, stored, and every later attempt sends the same bytes (same Message-ID and Date)."""

from __future__ import annotations

import asyncio
from typing import TypeAlias

from erpmail.sandbox.app import Sandbox
from erpmail.sandbox.faults import parse_rule_spec
from erpmail.server.app import ErpmailServer
from erpmail.v1 import emails_pb2 as epb
from erpmail.v1 import emails_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import mailings_pb2 as pb
from erpmail.v1 import preferences_pb2 as ppb
from erpmail.v1 import templates_pb2 as tpb
from google.protobuf import field_mask_pb2

from tests.mailings.messages import Mailings, all_recipients, member, recipient, until_done
from tests.support.outgoing import wait_until

Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"
Preferences: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"


async def _suspend(preferences: Preferences, on: bool) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=on),
            update_mask=field_mask_pb2.FieldMask(paths=["suspend_processing"]),
        )
    )


async def _raw(server: ErpmailServer, email_id: str) -> bytes | None:
    row = await server.db.fetch_one("SELECT raw FROM emails WHERE id = ?", (int(email_id),))
    assert row is not None
    return bytes(row[0]) if row[0] is not None else None


async def test_the_message_composed_at_the_first_attempt_is_sent_unchanged_on_the_next(
    offer: tpb.Template,
    mailings: Mailings,
    emails: Emails,
    preferences: Preferences,
    sandbox: Sandbox,
    erpmail_server: ErpmailServer,
) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(suspend_processing=True, automatic_resend_attempts=3),
            update_mask=field_mask_pb2.FieldMask(
                paths=["suspend_processing", "automatic_resend_attempts"]
            ),
        )
    )
    started = await mailings.StartMassMailing(
        pb.StartMassMailingRequest(template_id="offer", recipients=[recipient("M-1", member(1))])
    )
    mailing_id = (await until_done(mailings, started.mass_mailing.mass_mailing_id)).mass_mailing_id
    [queued] = await all_recipients(mailings, mailing_id)
    assert await _raw(erpmail_server, queued.email_id) is None, "queued without its message"

    sandbox.faults.add(parse_rule_spec("smtp.mail_from times=1 reply=451"))
    await _suspend(preferences, False)
    async with asyncio.timeout(20):
        while True:
            got = await emails.GetEmail(epb.GetEmailRequest(email_id=queued.email_id))
            if got.email.attempts:
                break
            await asyncio.sleep(0.02)
    first = await _raw(erpmail_server, queued.email_id)
    [sent] = await wait_until(emails, [queued.email_id])

    assert sent.status == epb.EMAIL_STATUS_PROCESSED
    assert [a.outcome for a in sent.attempts] == [
        epb.ATTEMPT_OUTCOME_TRANSIENT_FAILURE,
        epb.ATTEMPT_OUTCOME_SENT,
    ]
    assert first is not None and await _raw(erpmail_server, queued.email_id) == first
    [received] = sandbox.received_messages("member1@customer.test")
    assert received.raw == first
