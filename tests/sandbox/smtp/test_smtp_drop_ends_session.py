"""A dropped connection ends the session there: what the client had already sent is not read on
as commands (no log noise, no further fault decisions, nothing stored)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from erpmail.sandbox.faults import parse_rule_spec
from erpmail.sandbox.smtp.transcript import Direction

from tests.sandbox.smtp.support import ALICE, HOST, TIMEOUT, Listener

MULTI_LINE_MESSAGE = (
    "From: erp@shop.example\r\nTo: alice@example.com\r\nSubject: Invoice 1001\r\n\r\n"
    + "".join(f"line {n} of the invoice\r\n" for n in range(50))
    + ".\r\n"
).encode()


async def _dialogue(listener: Listener, steps: list[tuple[bytes, bytes]]) -> bytes:
    """Sends each line and waits for a reply starting with its code; then sends nothing more
    and reads until the server closes. Returns what came after the last expected reply."""
    reader, writer = await asyncio.open_connection(HOST, listener.port)
    try:
        async with asyncio.timeout(TIMEOUT):
            await reader.readuntil(b"\r\n")  # greeting
            for line, code in steps:
                writer.write(line)
                if code:
                    while not (reply := await reader.readuntil(b"\r\n")).startswith(code):
                        assert reply[3:4] == b"-", reply  # EHLO's continuation lines
            return await reader.read()  # to EOF: the drop
    finally:
        writer.close()


async def test_a_drop_in_the_middle_of_data_does_not_read_the_rest_of_the_message_as_commands(
    listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    listener.faults.add(parse_rule_spec("smtp.data drop"))
    caplog.set_level(logging.DEBUG, logger="mail.log")

    after = await _dialogue(
        listener,
        [
            (b"EHLO client.example\r\n", b"250 "),
            (b"MAIL FROM:<erp@shop.example>\r\n", b"250"),
            (f"RCPT TO:<{ALICE}>\r\n".encode(), b"250"),
            (b"DATA\r\n", b"354"),
            (MULTI_LINE_MESSAGE, b""),  # in one write: the server has it all buffered
        ],
    )
    await listener.wait_for_sessions_to_end()

    assert after == b"", "no reply after the drop"
    noise = [r.getMessage() for r in caplog.records if "unrecognised" in r.getMessage()]
    noise += [r.getMessage() for r in caplog.records if "bogus" in r.getMessage()]
    assert noise == []
    assert listener.store.received == []


async def test_commands_pipelined_behind_a_dropped_one_are_never_read(
    listener: Listener,
) -> None:
    listener.faults.add(parse_rule_spec("smtp.mail_from drop"))

    await _dialogue(
        listener,
        [
            (b"EHLO client.example\r\n", b"250 "),
            # PIPELINING style: the whole envelope and the message in one write.
            (
                b"MAIL FROM:<erp@shop.example>\r\n"
                + f"RCPT TO:<{ALICE}>\r\nDATA\r\n".encode()
                + MULTI_LINE_MESSAGE
                + b"QUIT\r\n",
                b"",
            ),
        ],
    )
    await listener.wait_for_sessions_to_end()

    [transcript] = listener.transcripts.sessions()
    texts = [(line.direction, line.text) for line in transcript.lines]
    dropped = texts.index((Direction.NOTE, "connection dropped"))
    assert [t for d, t in texts[dropped:] if d is Direction.CLIENT] == []
    assert listener.store.received == []
