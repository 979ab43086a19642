"""Fault injection at connect, login and RETR, as a FaultEngine rule asks (REPLY, DROP, ...)."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

from erpmail.sandbox.faults import Action, ActionKind, FaultEngine, Rule, Stage
from erpmail.sandbox.store import Mailbox

from tests.sandbox.pop3.support import (
    ADDRESS,
    FIRST,
    MESSAGES,
    PASSWORD,
    ServerFactory,
    Wire,
    inbox_bodies,
    login_once_released,
)

Connect = Callable[..., Awaitable[Wire]]

REFUSE = Action(ActionKind.REPLY, text="[SYS/TEMP] Try again later")
DROP = Action(ActionKind.DROP)


async def server_with(start_server: ServerFactory, *rules: Rule) -> tuple[int, FaultEngine]:
    engine = FaultEngine(rules)
    return await start_server(faults=engine), engine


async def test_login_fault_reply_refuses_once_then_login_works(
    start_server: ServerFactory, connect: Connect
) -> None:
    port, _ = await server_with(start_server, Rule(Stage.POP3_LOGIN, REFUSE, times=1))
    wire = await connect(port)
    await wire.line()
    await wire.command(f"USER {ADDRESS}".encode())
    assert await wire.command(f"PASS {PASSWORD}".encode()) == b"-ERR [SYS/TEMP] Try again later"
    await wire.login()


async def test_login_fault_matches_the_account(
    start_server: ServerFactory, connect: Connect
) -> None:
    rule = Rule(Stage.POP3_LOGIN, REFUSE, account="someone-else@example.com")
    port, engine = await server_with(start_server, rule)
    wire = await connect(port)
    await wire.line()
    await wire.login()
    assert engine.hits(engine.list()[0].id) == 0


async def test_login_fault_drop_closes_the_connection_without_a_reply(
    start_server: ServerFactory, connect: Connect
) -> None:
    port, _ = await server_with(start_server, Rule(Stage.POP3_LOGIN, DROP, account=ADDRESS))
    wire = await connect(port)
    await wire.line()
    await wire.command(f"USER {ADDRESS}".encode())
    await wire.send(f"PASS {PASSWORD}\r\n".encode())
    assert await wire.closed_by_server()


async def test_login_fault_applies_to_sasl_auth_too(
    start_server: ServerFactory, connect: Connect
) -> None:
    port, _ = await server_with(start_server, Rule(Stage.POP3_LOGIN, REFUSE))
    wire = await connect(port)
    await wire.line()
    response = base64.b64encode(f"\0{ADDRESS}\0{PASSWORD}".encode())
    assert await wire.command(b"AUTH PLAIN " + response) == b"-ERR [SYS/TEMP] Try again later"


async def test_retr_fault_reply_fails_that_retrieval_only(
    start_server: ServerFactory, connect: Connect
) -> None:
    port, _ = await server_with(start_server, Rule(Stage.POP3_RETR, REFUSE, times=1))
    wire = await connect(port)
    await wire.line()
    await wire.login()
    assert await wire.command(b"RETR 1") == b"-ERR [SYS/TEMP] Try again later"
    assert (await wire.command(b"RETR 1")).startswith(b"+OK")
    assert b"\r\n".join(await wire.body()) + b"\r\n" == FIRST.replace(b"\r\n.", b"\r\n..")


async def test_retr_fault_drop_keeps_every_message(
    start_server: ServerFactory, connect: Connect, mailbox: Mailbox
) -> None:
    port, _ = await server_with(start_server, Rule(Stage.POP3_RETR, DROP))
    wire = await connect(port)
    await wire.line()
    await wire.login()
    await wire.command(b"DELE 1")
    await wire.send(b"RETR 2\r\n")
    assert await wire.closed_by_server()
    assert inbox_bodies(mailbox) == list(MESSAGES)


async def test_a_session_limit_counts_retrievals(
    start_server: ServerFactory, connect: Connect
) -> None:
    rule = Rule(Stage.POP3_RETR, REFUSE, max_per_session=2)
    port, _ = await server_with(start_server, rule)
    wire = await connect(port)
    await wire.line()
    await wire.login()
    for number in (1, 2):
        assert (await wire.command(f"RETR {number}".encode())).startswith(b"+OK")
        await wire.body()
    assert await wire.command(b"RETR 3") == b"-ERR [SYS/TEMP] Try again later"


async def test_connect_fault_reply_refuses_the_connection(
    start_server: ServerFactory, connect: Connect
) -> None:
    port, _ = await server_with(start_server, Rule(Stage.POP3_CONNECT, REFUSE))
    wire = await connect(port)
    assert await wire.line() == b"-ERR [SYS/TEMP] Try again later"
    assert await wire.closed_by_server()


async def test_connect_fault_drop_closes_before_the_greeting(
    start_server: ServerFactory, connect: Connect
) -> None:
    port, _ = await server_with(start_server, Rule(Stage.POP3_CONNECT, DROP))
    wire = await connect(port)
    assert await wire.closed_by_server()


async def test_delay_and_throttle_still_deliver_the_whole_message(
    start_server: ServerFactory, connect: Connect
) -> None:
    port, _ = await server_with(
        start_server,
        Rule(Stage.POP3_LOGIN, Action(ActionKind.DELAY, delay_seconds=0.05)),
        Rule(Stage.POP3_RETR, Action(ActionKind.THROTTLE, bytes_per_second=2000)),
    )
    wire = await connect(port)
    await wire.line()
    await wire.login()
    assert (await wire.command(b"RETR 3")).startswith(b"+OK")
    assert await wire.body() == [b"Subject: third", b"", b"short"]


async def test_a_client_leaving_during_a_delay_releases_the_maildrop_at_once(
    start_server: ServerFactory, connect: Connect
) -> None:
    stall = Rule(Stage.POP3_RETR, Action(ActionKind.DELAY, delay_seconds=600), times=1)
    port, _ = await server_with(start_server, stall)
    wire = await connect(port)
    await wire.line()
    await wire.login()
    await wire.send(b"RETR 1\r\n")
    await wire.close()
    again = await connect(port)
    await again.line()
    await login_once_released(again)
