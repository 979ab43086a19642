"""Greylisting and rate limits, with the fault engine on a clock the test moves."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest
from erpmail.sandbox.faults import FaultEngine, parse_rule_spec

from tests.sandbox.smtp.support import ALICE, BOB, HOST, TIMEOUT, StartListener, message
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def faults(clock: FakeClock) -> FaultEngine:
    return FaultEngine(clock=clock)


def send(port: int, recipients: list[str]) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(HOST, port, timeout=TIMEOUT) as client:
        try:
            return client.sendmail("erp@shop.example", recipients, message())
        except smtplib.SMTPRecipientsRefused as error:
            return dict(error.recipients)


async def test_greylisting_refuses_the_first_try_and_accepts_a_retry_after_the_delay(
    start: StartListener, faults: FaultEngine, clock: FakeClock
) -> None:
    listener = await start()
    faults.add(parse_rule_spec("smtp.rcpt_to greylist=300"))
    first = await asyncio.to_thread(send, listener.port, [ALICE])
    assert first[ALICE][0] == 451
    clock.now += 60
    too_soon = await asyncio.to_thread(send, listener.port, [ALICE])
    assert too_soon[ALICE][0] == 451
    clock.now += 240
    assert await asyncio.to_thread(send, listener.port, [ALICE]) == {}
    assert len(listener.store.received) == 1


async def test_greylisting_is_per_sender_and_recipient_pair(
    start: StartListener, faults: FaultEngine, clock: FakeClock
) -> None:
    listener = await start()
    faults.add(parse_rule_spec("smtp.rcpt_to greylist=300"))
    await asyncio.to_thread(send, listener.port, [ALICE])
    clock.now += 300
    refused = await asyncio.to_thread(send, listener.port, [ALICE, BOB])
    assert list(refused) == [BOB], "alice's pair passed; bob's is new"


async def test_421_after_n_messages_in_one_session(
    start: StartListener, faults: FaultEngine
) -> None:
    listener = await start()
    faults.add(parse_rule_spec("smtp.mail_from max_per_session=3"))
    client = listener.aiosmtplib_client()
    await client.connect()
    for _ in range(3):
        await client.sendmail("erp@shop.example", [ALICE], message())
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.sendmail("erp@shop.example", [ALICE], message())
    assert refused.value.code == 421
    assert not client.is_connected
    assert len(listener.store.received) == 3
    async with listener.aiosmtplib_client() as again:
        await again.sendmail("erp@shop.example", [ALICE], message())
    assert len(listener.store.received) == 4, "a new session starts counting again"


async def test_too_many_messages_per_second_are_refused_until_the_window_moves(
    start: StartListener, faults: FaultEngine, clock: FakeClock
) -> None:
    listener = await start()
    faults.add(parse_rule_spec("smtp.mail_from rate=2/1"))
    async with listener.aiosmtplib_client() as client:
        for _ in range(2):
            await client.sendmail("erp@shop.example", [ALICE], message())
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await client.sendmail("erp@shop.example", [ALICE], message())
        assert refused.value.code == 451
        await client.rset()
        clock.now += 1
        await client.sendmail("erp@shop.example", [ALICE], message())
    assert len(listener.store.received) == 3
