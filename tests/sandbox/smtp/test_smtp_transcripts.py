"""Each session's dialogue is kept for inspection, without secrets or message bodies."""

from __future__ import annotations

import asyncio
import base64

from erpmail.sandbox.faults import parse_rule_spec
from erpmail.sandbox.smtp import Direction, TranscriptLog

from tests.sandbox.smtp.support import (
    ALICE,
    ALICE_PASSWORD,
    BOB,
    BOB_PASSWORD,
    Listener,
    StartListener,
    message,
)


async def test_a_transcript_has_the_commands_and_replies_in_order(listener: Listener) -> None:
    async with listener.aiosmtplib_client() as client:
        await client.sendmail("erp@shop.example", [ALICE], message())
    await listener.wait_for_sessions_to_end()
    [transcript] = listener.transcripts.sessions()
    assert transcript.session_id.startswith("smtp-")
    assert transcript.peer.startswith("127.0.0.1:")
    assert transcript.ended_at is not None and transcript.ended_at >= transcript.started_at
    wire = [(line.direction, line.text.split()[0]) for line in transcript.lines]
    client_said = [word.upper() for direction, word in wire if direction is Direction.CLIENT]
    server_said = [word[:3] for direction, word in wire if direction is Direction.SERVER]
    assert client_said == ["EHLO", "MAIL", "RCPT", "DATA", "<MESSAGE", ".", "QUIT"]
    assert server_said[0] == "220" and server_said[-1] == "221"
    assert "354" in server_said


async def test_auth_secrets_never_reach_the_transcript(listener: Listener) -> None:
    mailbox = listener.store.mailbox_for_address(ALICE)
    assert mailbox is not None
    token = listener.store.issue_token(mailbox)

    def log_in_every_way() -> None:
        with listener.smtplib_client() as client:
            client.login(ALICE, ALICE_PASSWORD)  # PLAIN with an initial response
        with listener.smtplib_client() as client:
            client.ehlo()
            client.user, client.password = "bob", BOB_PASSWORD
            client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        with listener.smtplib_client() as client:
            client.ehlo()
            client.auth("XOAUTH2", lambda _=None: f"user={ALICE}\x01auth=Bearer {token}\x01\x01")

    await asyncio.to_thread(log_in_every_way)
    await listener.wait_for_sessions_to_end(3)
    everything = "\n".join(t.render() for t in listener.transcripts)
    secrets = [ALICE_PASSWORD, BOB_PASSWORD, token]
    encoded = [base64.b64encode(s.encode()).decode() for s in secrets]
    plain = base64.b64encode(f"\0{ALICE}\0{ALICE_PASSWORD}".encode()).decode()
    for secret in [*secrets, *encoded, plain]:
        assert secret not in everything
    assert everything.count("235 2.7.0") == 3
    assert "<redacted>" in everything


async def test_message_bodies_are_summarised_not_kept(listener: Listener) -> None:
    body = "Confidential salary figures"
    async with listener.aiosmtplib_client() as client:
        await client.sendmail("erp@shop.example", [ALICE], message(body=body))
    await listener.wait_for_sessions_to_end()
    rendered = listener.transcripts.sessions()[0].render()
    assert body not in rendered
    size = len(listener.store.received[0].raw)
    assert f"<message data: {size} bytes>" in rendered


async def test_faults_are_noted_where_they_happened(listener: Listener) -> None:
    listener.faults.add(parse_rule_spec(f"smtp.rcpt_to recipient={BOB} reply=550"))
    async with listener.aiosmtplib_client() as client:
        await client.sendmail("erp@shop.example", [ALICE, BOB], message())
    await listener.wait_for_sessions_to_end()
    lines = listener.transcripts.sessions()[0].lines
    note = next(i for i, line in enumerate(lines) if line.direction is Direction.NOTE)
    assert "smtp.rcpt_to" in lines[note].text
    assert BOB in lines[note - 1].text
    assert lines[note + 1].text.startswith("550")


async def test_the_log_keeps_only_the_most_recent_sessions(start: StartListener) -> None:
    listener = await start(transcripts=TranscriptLog(max_sessions=2))

    def connect_three_times() -> None:
        for _ in range(3):
            with listener.smtplib_client() as client:
                client.noop()

    await asyncio.to_thread(connect_three_times)
    await listener.wait_for_sessions_to_end(2)
    kept = listener.transcripts.sessions()
    assert len(kept) == 2
    numbers = [int(t.session_id.removeprefix("smtp-")) for t in kept]
    assert numbers == sorted(numbers)
    assert listener.transcripts.get(kept[0].session_id) is kept[0]


async def test_no_transcript_log_means_no_transcripts_and_mail_still_flows(
    start: StartListener,
) -> None:
    listener = await start(transcripts=None)
    async with listener.aiosmtplib_client() as client:
        await client.sendmail("erp@shop.example", [ALICE], message())
    assert len(listener.store.received) == 1
