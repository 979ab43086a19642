"""IMAP IDLE, end to end against the sandbox: an account with use_idle receives new mail without
any ReceiveEmails call, one without it is never connected to, turning it off or deleting the
account closes the connection, and a dropped connection is opened again; use_idle is for IMAP
only and is part of the account's settings and history.

erpmail reaches the sandbox through a relay (real sockets) that shows its connections, which of
them are in IDLE, and can cut them all as a network failure would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeAlias

import grpc
import pytest
from erpmail.sandbox.app import Sandbox, SandboxConfig
from erpmail.sandbox.faults import Action, ActionKind, Rule, Stage
from erpmail.sandbox.store import INBOX
from erpmail.server.accounts.models import Account
from erpmail.server.core import serde
from erpmail.server.incoming.idle import IdleSettings, ReceiptRequests, retry_delay
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, common_pb2, emails_pb2_grpc
from erpmail.v1 import emails_pb2 as epb
from google.protobuf import field_mask_pb2

from tests.support.accounts import account as valid_account
from tests.support.errors import field_violations
from tests.support.servers import HOST, Servers

Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"
Emails: TypeAlias = "emails_pb2_grpc.EmailServiceAsyncStub"

WATCHED, OTHER = "watched@sandbox.test", "other@sandbox.test"
PASSWORD = "sandbox-pw"
DEADLINE = 20.0  # generous: only a watch that never receives would reach it


def message(subject: str) -> bytes:
    return (
        f"From: Customer <customer@example.com>\r\nTo: {WATCHED}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.com>\r\n\r\nHello.\r\n"
    ).encode()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """The sandbox with both mailboxes. Tests name it first: it then stops after erpmail, whose
    IDLE connections would otherwise see it go."""
    async with Sandbox(SandboxConfig.ephemeral()) as running:
        for address in (WATCHED, OTHER):
            running.store.create_mailbox(address, PASSWORD)
        yield running


def deliver(sandbox: Sandbox, address: str, subject: str) -> None:
    mailbox = sandbox.store.mailbox_for_address(address)
    assert mailbox is not None
    sandbox.store.append(mailbox, INBOX, message(subject))


class Relay:
    """Forwards connections to the sandbox's IMAP port and keeps count of them."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.opened = 0  # connections made, ever
        self.idle_sessions = 0  # connections that sent IDLE, ever
        self._open: dict[asyncio.StreamWriter, bool] = {}  # open connection -> sent IDLE

    @property
    def open(self) -> int:
        return len(self._open)

    @property
    def idling(self) -> int:
        return sum(self._open.values())

    def cut(self) -> None:
        """Drops every open connection at once, without a word to either side."""
        for writer in list(self._open):
            writer.transport.abort()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        self._open[writer] = False
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            del self._open[writer]
            writer.close()
            return

        async def pipe(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, watch: bool
        ) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    if watch and b" IDLE\r\n" in data.upper() and not self._open[writer]:
                        self._open[writer] = True
                        self.idle_sessions += 1
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()  # one side gone: the other goes too

        try:
            await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
        finally:
            del self._open[writer]


StartRelay = Callable[[], Awaitable[tuple[Relay, int]]]


@pytest.fixture
def relay(sandbox: Sandbox, servers: Servers) -> StartRelay:
    """Starts a relay to the sandbox's IMAP port; returns it and the port it listens on."""

    async def start() -> tuple[Relay, int]:
        relay = Relay(sandbox.ports["imap"])
        return relay, await servers.listen(relay.handle)

    return start


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE} s: {what}")
        await asyncio.sleep(0.02)


def counted(relay: Relay, **wanted: int) -> Callable[[], Awaitable[bool]]:
    """Whether the relay's counts (open, idling, idle_sessions) are as wanted."""

    async def check() -> bool:
        return all(getattr(relay, name) == value for name, value in wanted.items())

    return check


async def subjects(emails: Emails, account_id: str) -> set[str]:
    listed = await emails.ListEmails(epb.ListEmailsRequest(account_id=account_id, page_size=500))
    return {email.subject for email in listed.emails}


def has(emails: Emails, account_id: str, *wanted: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return set(wanted) <= await subjects(emails, account_id)

    return check


async def create(
    accounts: Accounts, account_id: str, address: str, port: int, *, use_idle: bool = True
) -> None:
    await accounts.CreateAccount(
        apb.CreateAccountRequest(
            account=apb.Account(
                account_id=account_id,
                email_address=address,
                usage=apb.ACCOUNT_USAGE_RECEIVE_ONLY,
                incoming=apb.IncomingServer(
                    protocol=apb.INCOMING_PROTOCOL_IMAP,
                    host=HOST,
                    port=port,
                    security=common_pb2.CONNECTION_SECURITY_NONE,
                    username=address,
                    password=PASSWORD,
                    use_idle=use_idle,
                ),
            )
        )
    )


async def set_use_idle(accounts: Accounts, account_id: str, use_idle: bool) -> None:
    await accounts.UpdateAccount(
        apb.UpdateAccountRequest(
            account=apb.Account(
                account_id=account_id, incoming=apb.IncomingServer(use_idle=use_idle)
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["incoming.use_idle"]),
        )
    )


async def watched_and_idle(
    accounts: Accounts, emails: Emails, sandbox: Sandbox, relay: Relay, port: int
) -> None:
    """Creates the watched account and waits until its one connection is in IDLE, its receipt
    on connecting done: from then on only an IDLE announcement can make it receive."""
    deliver(sandbox, WATCHED, "waiting")
    await create(accounts, "watched", WATCHED, port)
    await eventually(has(emails, "watched", "waiting"), "mail waiting at connect received")
    await eventually(counted(relay, open=1, idling=1), "one connection, in IDLE")


# -- receipt as soon as the server announces new mail -----------------------------------------


async def test_mail_waiting_when_the_watch_connects_is_received_at_once(
    sandbox: Sandbox, accounts: Accounts, emails: Emails, relay: StartRelay
) -> None:
    _, port = await relay()
    deliver(sandbox, WATCHED, "waiting")

    await create(accounts, "watched", WATCHED, port)

    await eventually(has(emails, "watched", "waiting"), "mail waiting at connect received")


async def test_new_mail_is_received_on_the_idle_announcement_without_any_receive_call(
    sandbox: Sandbox, accounts: Accounts, emails: Emails, relay: StartRelay
) -> None:
    watch, port = await relay()
    await watched_and_idle(accounts, emails, sandbox, watch, port)

    deliver(sandbox, WATCHED, "news")

    await eventually(has(emails, "watched", "news"), "announced mail received")


async def test_an_account_without_use_idle_is_never_connected_to(
    sandbox: Sandbox, accounts: Accounts, emails: Emails, relay: StartRelay
) -> None:
    polled, polled_port = await relay()
    watch, watched_port = await relay()
    await create(accounts, "polled", OTHER, polled_port, use_idle=False)
    await watched_and_idle(accounts, emails, sandbox, watch, watched_port)

    deliver(sandbox, OTHER, "for the polled account")
    deliver(sandbox, WATCHED, "for the watched account")
    await eventually(has(emails, "watched", "for the watched account"), "watched account received")

    assert await subjects(emails, "polled") == set()
    assert polled.opened == 0


async def test_turning_use_idle_off_closes_the_connection_and_stops_receipt(
    sandbox: Sandbox, accounts: Accounts, emails: Emails, relay: StartRelay
) -> None:
    watch, port = await relay()
    control, control_port = await relay()
    await watched_and_idle(accounts, emails, sandbox, watch, port)
    await create(accounts, "control", OTHER, control_port)
    await eventually(counted(control, open=1, idling=1), "control account in IDLE")

    await set_use_idle(accounts, "watched", False)

    await eventually(counted(watch, open=0), "connection closed")
    opened = watch.opened
    deliver(sandbox, WATCHED, "after turning it off")
    deliver(sandbox, OTHER, "for the control account")
    await eventually(has(emails, "control", "for the control account"), "control received")
    assert "after turning it off" not in await subjects(emails, "watched")
    assert watch.opened == opened


async def test_turning_use_idle_on_starts_watching(
    sandbox: Sandbox, accounts: Accounts, emails: Emails, relay: StartRelay
) -> None:
    watch, port = await relay()
    await create(accounts, "watched", WATCHED, port, use_idle=False)

    await set_use_idle(accounts, "watched", True)

    await eventually(counted(watch, idling=1), "connection in IDLE")
    deliver(sandbox, WATCHED, "news")
    await eventually(has(emails, "watched", "news"), "announced mail received")


async def test_deleting_a_watched_account_closes_its_connection(
    sandbox: Sandbox, accounts: Accounts, emails: Emails, relay: StartRelay
) -> None:
    watch, port = await relay()
    await watched_and_idle(accounts, emails, sandbox, watch, port)

    await accounts.DeleteAccount(apb.DeleteAccountRequest(account_id="watched"))

    await eventually(counted(watch, open=0), "connection closed")


# -- failures ---------------------------------------------------------------------------------


async def test_a_dropped_idle_connection_is_opened_again_and_announcements_received(
    sandbox: Sandbox, accounts: Accounts, emails: Emails, relay: StartRelay
) -> None:
    watch, port = await relay()
    await watched_and_idle(accounts, emails, sandbox, watch, port)

    watch.cut()

    await eventually(counted(watch, idle_sessions=2, idling=1), "in IDLE again")
    deliver(sandbox, WATCHED, "after the drop")
    await eventually(has(emails, "watched", "after the drop"), "mail after the drop received")


async def test_the_watch_keeps_trying_while_the_sandbox_drops_its_logins(
    sandbox: Sandbox, accounts: Accounts, emails: Emails
) -> None:
    sandbox.faults.add(Rule(Stage.IMAP_LOGIN, Action(ActionKind.DROP), account=WATCHED, times=2))

    await create(accounts, "watched", WATCHED, sandbox.ports["imap"])
    deliver(sandbox, WATCHED, "while logins fail")

    await eventually(has(emails, "watched", "while logins fail"), "received after the drops")
    assert sandbox.faults.list() == []  # both drops happened (a rule is gone once used up)


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "usage"),
    [
        (apb.INCOMING_PROTOCOL_POP3, apb.ACCOUNT_USAGE_SEND_AND_RECEIVE),
        (apb.INCOMING_PROTOCOL_NONE, apb.ACCOUNT_USAGE_SEND_ONLY),
    ],
    ids=["pop3", "no-incoming-server"],
)
async def test_use_idle_is_refused_without_an_imap_server_with_the_field_named(
    accounts: Accounts, protocol: int, usage: int
) -> None:
    message = valid_account(usage=usage)
    message.incoming.protocol = protocol  # type: ignore[assignment]
    message.incoming.use_idle = True

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.CreateAccount(apb.CreateAccountRequest(account=message))

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "account.incoming.use_idle" in field_violations(error.value)


async def test_turning_use_idle_on_for_a_pop3_account_is_refused_and_changes_nothing(
    accounts: Accounts,
) -> None:
    message = valid_account()
    message.incoming.protocol = apb.INCOMING_PROTOCOL_POP3
    await accounts.CreateAccount(apb.CreateAccountRequest(account=message))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await set_use_idle(accounts, "support", True)

    assert "account.incoming.use_idle" in field_violations(error.value)
    got = await accounts.GetAccount(apb.GetAccountRequest(account_id="support"))
    assert got.account.incoming.use_idle is False


async def test_use_idle_is_returned_and_its_changes_are_in_the_history(
    sandbox: Sandbox, accounts: Accounts
) -> None:
    await create(accounts, "watched", WATCHED, sandbox.ports["imap"])
    got = await accounts.GetAccount(apb.GetAccountRequest(account_id="watched"))
    assert got.account.incoming.use_idle is True

    await set_use_idle(accounts, "watched", False)

    history = await accounts.ListAccountChanges(apb.ListAccountChangesRequest(account_id="watched"))
    changed = [(c.field, c.old_value, c.new_value) for c in history.changes]
    assert ("incoming.use_idle", "True", "False") in changed


def test_accounts_stored_before_use_idle_existed_read_as_not_using_it() -> None:
    settings = json.loads(serde.dumps(Account(account_id="old", email_address="old@example.com")))
    del settings["incoming"]["use_idle"]

    assert serde.loads(Account, json.dumps(settings)).incoming.use_idle is False


# -- rules of the watcher, without sockets ----------------------------------------------------


def test_reconnecting_waits_twice_as_long_after_each_failure_up_to_the_cap() -> None:
    settings = IdleSettings(first_retry=1.0, max_retry=60.0)

    delays = [retry_delay(failures, settings) for failures in range(1, 10)]

    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert retry_delay(10_000, settings) == 60.0


async def test_announcements_during_a_receipt_make_one_more_receipt_not_one_each() -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def receive(account_id: str) -> None:
        started.append(account_id)
        await release.wait()

    receipts = ReceiptRequests("watched", receive)
    receipts.request()
    await asyncio.sleep(0)  # the first receipt is running
    for _ in range(5):
        receipts.request()
    release.set()
    assert receipts.task is not None
    await receipts.task

    assert started == ["watched", "watched"]


async def test_a_failed_receipt_does_not_stop_later_ones() -> None:
    calls = 0

    async def receive(account_id: str) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("the server went away")

    receipts = ReceiptRequests("watched", receive)
    for _ in range(2):
        receipts.request()
        assert receipts.task is not None
        await receipts.task

    assert calls == 2
