"""erpmail's POP3 client: its reply parser fed with bytes, then the client against the sandbox."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest
from erpmail.sandbox.faults import Action, ActionKind, FaultEngine, Rule, Stage
from erpmail.sandbox.pop3.replies import ERR_TLS_UNAVAILABLE, STLS_OK
from erpmail.sandbox.store import INBOX, Mailbox, MailStore
from erpmail.sandbox.tls import Certificate, make_self_signed
from erpmail.server.incoming.pop3_client import (
    Pop3Client,
    Pop3Error,
    Pop3ProtocolError,
    Pop3Reply,
    ReplyParser,
    message_bytes,
    parse_listing,
    parse_stat,
)

from tests.sandbox.pop3.fixtures import *  # noqa: F403  (store, mailbox, start_server, port)
from tests.sandbox.pop3.support import (
    ADDRESS,
    FIRST,
    MESSAGES,
    PASSWORD,
    SECOND,
    ServerFactory,
    crlf,
)
from tests.support.servers import HOST, Servers

# -- the reply parser, fed with bytes --------------------------------------------------------


def parse(data: bytes, multiline: bool = False) -> Pop3Reply | None:
    parser = ReplyParser()
    parser.feed(data)
    return parser.next_reply(multiline)


def test_status_lines_become_ok_or_error_replies() -> None:
    assert parse(b"+OK 2 320\r\n") == Pop3Reply(ok=True, text="2 320")
    assert parse(b"-ERR no such message\r\n") == Pop3Reply(ok=False, text="no such message")
    assert parse(b"+OK\r\n") == Pop3Reply(ok=True, text="")
    assert parse(b"+ \r\n") == Pop3Reply(ok=True, text="", continuation=True)


def test_the_extended_response_code_is_read_from_the_brackets() -> None:
    reply = parse(b"-ERR [auth] Invalid login\r\n")
    assert reply is not None and reply.code == "AUTH"
    assert parse(b"-ERR [SYS/TEMP] busy\r\n").code == "SYS/TEMP"  # type: ignore[union-attr]
    assert parse(b"-ERR plain text\r\n").code == ""  # type: ignore[union-attr]


def test_a_multiline_body_is_unstuffed_and_ends_at_the_lone_dot() -> None:
    reply = parse(b"+OK follows\r\nplain\r\n..dot\r\n..\r\n.\r\n", multiline=True)
    assert reply == Pop3Reply(ok=True, text="follows", lines=(b"plain", b".dot", b"."))


def test_an_error_to_a_multiline_command_has_no_body() -> None:
    parser = ReplyParser()
    parser.feed(b"-ERR no such message\r\n+OK next\r\n")
    assert parser.next_reply(multiline=True) == Pop3Reply(ok=False, text="no such message")
    assert parser.next_reply() == Pop3Reply(ok=True, text="next")


def test_replies_come_out_the_same_when_fed_one_byte_at_a_time() -> None:
    data = b"+OK list\r\n1 100\r\n2 200\r\n.\r\n+OK 2 300\r\n"
    parser = ReplyParser()
    found: list[Pop3Reply] = []
    for byte in data:
        parser.feed(bytes([byte]))
        reply = parser.next_reply(multiline=not found)
        if reply is not None:
            found.append(reply)
    assert found == [
        Pop3Reply(ok=True, text="list", lines=(b"1 100", b"2 200")),
        Pop3Reply(ok=True, text="2 300"),
    ]
    assert not parser.pending


def test_bare_lf_line_endings_are_tolerated() -> None:
    assert parse(b"+OK x\nbody\n.\n", multiline=True) == Pop3Reply(True, "x", (b"body",))


@pytest.mark.parametrize("line", [b"OK\r\n", b"* OK imap\r\n", b"220 smtp ready\r\n", b"+OKAY\r\n"])
def test_a_line_that_is_not_pop3_is_a_protocol_error(line: bytes) -> None:
    with pytest.raises(Pop3ProtocolError):
        parse(line)


def test_a_server_line_without_end_is_cut_off() -> None:
    parser = ReplyParser(max_line=100)
    parser.feed(b"+OK " + b"x" * 200)
    with pytest.raises(Pop3ProtocolError):
        parser.next_reply()


def test_stat_listing_and_message_helpers() -> None:
    assert parse_stat(Pop3Reply(True, "3 1024")) == (3, 1024)
    assert parse_listing(Pop3Reply(True, "", (b"1 abc.1", b"2 abc.2"))) == {1: "abc.1", 2: "abc.2"}
    assert message_bytes(Pop3Reply(True, "", (b"Subject: x", b"", b"hi"))) == (
        b"Subject: x\r\n\r\nhi\r\n"
    )
    with pytest.raises(Pop3ProtocolError):
        parse_stat(Pop3Reply(True, "three messages"))
    with pytest.raises(Pop3ProtocolError):
        parse_listing(Pop3Reply(True, "", (b"garbage",)))


# -- the client against the sandbox POP3 server ----------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[Pop3Client]:
    async with Pop3Client(timeout=10) as client:
        yield client


async def logged_in(client: Pop3Client, port: int) -> None:
    """Connects in the clear and logs in as Alice."""
    await client.connect(HOST, port, security="none")
    await client.login(ADDRESS, PASSWORD)


async def test_a_full_session_fetches_and_deletes_by_unique_id(
    port: int, client: Pop3Client, mailbox: Mailbox
) -> None:
    greeting = await client.connect(HOST, port, security="none")
    assert greeting.ok
    await client.login(ADDRESS, PASSWORD)
    assert await client.stat() == (3, sum(len(crlf(raw)) for raw in MESSAGES))
    uids = await client.uidl()
    uidvalidity = mailbox.folder(INBOX).uidvalidity
    assert uids == {n: f"{uidvalidity}.{n}" for n in (1, 2, 3)}
    assert await client.retr(1) == FIRST
    assert await client.retr(2) == crlf(SECOND)
    await client.dele(1)
    await client.quit()
    assert [message.raw for message in mailbox.folder(INBOX).messages] == list(MESSAGES[1:])


async def test_list_top_noop_and_rset(port: int, client: Pop3Client, mailbox: Mailbox) -> None:
    await logged_in(client, port)
    assert await client.list_sizes() == {n: len(crlf(raw)) for n, raw in enumerate(MESSAGES, 1)}
    assert await client.top(2, 1) == b"Subject: second\r\n\r\nline one\r\n"
    assert "UIDL" in await client.capa()
    await client.dele(3)
    await client.rset()
    await client.noop()
    await client.quit()
    assert len(mailbox.folder(INBOX).messages) == 3


async def test_closing_without_quit_keeps_the_deleted_messages(
    port: int, client: Pop3Client, mailbox: Mailbox
) -> None:
    await logged_in(client, port)
    await client.dele(1)
    client.close()
    assert len(mailbox.folder(INBOX).messages) == 3
    with pytest.raises(ConnectionError):
        await client.stat()


async def test_a_wrong_password_raises_pop3_error_with_the_auth_code(
    port: int, client: Pop3Client
) -> None:
    await client.connect(HOST, port, security="none")
    with pytest.raises(Pop3Error) as raised:
        await client.login(ADDRESS, "wrong")
    assert raised.value.code == "AUTH"
    assert "wrong" not in str(raised.value)
    await client.login(ADDRESS, PASSWORD)  # the session is still usable


async def test_an_err_reply_raises_and_the_session_goes_on(port: int, client: Pop3Client) -> None:
    await logged_in(client, port)
    with pytest.raises(Pop3Error) as raised:
        await client.retr(42)
    assert not raised.value.reply.ok
    assert (await client.stat())[0] == 3


async def test_line_breaks_in_credentials_are_refused_before_sending(
    port: int, client: Pop3Client
) -> None:
    await client.connect(HOST, port, security="none")
    with pytest.raises(ValueError):
        await client.login(ADDRESS, "pw\r\nDELE 1")


async def test_starttls_upgrades_before_login(
    start_server: ServerFactory, certificate: Certificate, client: Pop3Client
) -> None:
    port = await start_server(starttls_context=certificate.server_context())
    await client.connect(HOST, port, security="starttls", ssl_context=certificate.client_context())
    assert "STLS" not in await client.capa()  # the server now runs TLS
    await client.login(ADDRESS, PASSWORD)
    assert await client.retr(1) == FIRST


async def test_implicit_tls(
    start_server: ServerFactory, certificate: Certificate, client: Pop3Client
) -> None:
    port = await start_server(ssl_context=certificate.server_context())
    await client.connect(HOST, port, security="ssl", ssl_context=certificate.client_context())
    await client.login(ADDRESS, PASSWORD)
    assert (await client.stat())[0] == 3


async def test_an_untrusted_certificate_is_refused(
    start_server: ServerFactory, certificate: Certificate, client: Pop3Client
) -> None:
    port = await start_server(ssl_context=certificate.server_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        await client.connect(HOST, port, security="ssl")


async def test_starttls_against_a_server_without_it_raises(port: int, client: Pop3Client) -> None:
    with pytest.raises(Pop3Error):
        await client.connect(HOST, port, security="starttls")


async def test_xoauth2_login_with_an_issued_token(
    port: int, client: Pop3Client, store: MailStore, mailbox: Mailbox
) -> None:
    await client.connect(HOST, port, security="none")
    await client.login_xoauth2(ADDRESS, store.issue_token(mailbox))
    assert (await client.stat())[0] == 3


async def test_xoauth2_refusal_raises_after_the_challenge(port: int, client: Pop3Client) -> None:
    await client.connect(HOST, port, security="none")
    with pytest.raises(Pop3Error) as raised:
        await client.login_xoauth2(ADDRESS, "expired-token")
    assert raised.value.code == "AUTH"
    await client.login(ADDRESS, PASSWORD)


async def test_a_retr_fault_surfaces_as_pop3_error(
    start_server: ServerFactory, client: Pop3Client
) -> None:
    refuse = Action(ActionKind.REPLY, text="[SYS/TEMP] disk trouble")
    port = await start_server(faults=FaultEngine([Rule(Stage.POP3_RETR, refuse, times=1)]))
    await logged_in(client, port)
    with pytest.raises(Pop3Error) as raised:
        await client.retr(1)
    assert raised.value.code == "SYS/TEMP"
    assert await client.retr(1) == FIRST


async def test_a_dropped_connection_raises_connection_error(
    start_server: ServerFactory, client: Pop3Client
) -> None:
    drop = Rule(Stage.POP3_LOGIN, Action(ActionKind.DROP))
    port = await start_server(faults=FaultEngine([drop]))
    await client.connect(HOST, port, security="none")
    with pytest.raises(ConnectionError):
        await client.login(ADDRESS, PASSWORD)


async def test_a_command_that_gets_no_answer_times_out_and_closes(
    start_server: ServerFactory, client: Pop3Client
) -> None:
    stall = Rule(Stage.POP3_RETR, Action(ActionKind.DELAY, delay_seconds=30))
    port = await start_server(faults=FaultEngine([stall]))
    await logged_in(client, port)
    with pytest.raises(TimeoutError):
        await client.retr(1, timeout=0.2)
    # A late answer would be taken for the next command's: the client gave the connection up.
    with pytest.raises(ConnectionError):
        await client.noop()


# -- STLS on a session connected in the clear (the account test reports the upgrade itself) ---


async def test_stls_on_a_plain_session_returns_the_servers_reply_and_login_then_works(
    start_server: ServerFactory, certificate: Certificate, client: Pop3Client
) -> None:
    port = await start_server(starttls_context=certificate.server_context())
    await client.connect(HOST, port, security="none")
    assert "STLS" in await client.capa()
    reply = await client.starttls(certificate.client_context())
    assert reply.ok
    assert reply.text == STLS_OK.removeprefix("+OK ")
    assert "STLS" not in await client.capa()  # the server now runs TLS
    await client.login(ADDRESS, PASSWORD)
    assert await client.retr(1) == FIRST


async def test_stls_with_an_untrusted_certificate_drops_the_connection_instead_of_going_on(
    start_server: ServerFactory, certificate: Certificate, client: Pop3Client
) -> None:
    port = await start_server(starttls_context=certificate.server_context())
    await client.connect(HOST, port, security="none")
    with pytest.raises(ssl.SSLCertVerificationError):
        await client.starttls()  # system CAs only
    # Sending the password in the clear after asking for TLS is what must not happen.
    with pytest.raises(ConnectionError):
        await client.login(ADDRESS, PASSWORD)


async def test_stls_checks_the_certificate_against_the_host_name_connected_to(
    start_server: ServerFactory, client: Pop3Client
) -> None:
    other = make_self_signed(("mail.other.test",))  # also names 127.0.0.1, not "localhost"
    port = await start_server(starttls_context=other.server_context())
    await client.connect("localhost", port, security="none")
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname"):
        await client.starttls(other.client_context())


async def test_stls_refused_by_the_server_raises_and_drops_the_connection(
    port: int, certificate: Certificate, client: Pop3Client
) -> None:
    await client.connect(HOST, port, security="none")
    with pytest.raises(Pop3Error) as raised:
        await client.starttls(certificate.client_context())
    assert raised.value.reply.text == ERR_TLS_UNAVAILABLE.removeprefix("-ERR ")
    with pytest.raises(ConnectionError):
        await client.stat()


async def test_stls_before_connecting_is_a_connection_error(client: Pop3Client) -> None:
    with pytest.raises(ConnectionError):
        await client.starttls()


# -- misbehaving servers (a bare socket server scripted per test) -----------------------------


async def test_a_server_that_never_greets_times_out(servers: Servers, client: Pop3Client) -> None:
    port = await servers.scripted(b"")
    with pytest.raises(TimeoutError):
        await client.connect(HOST, port, security="none", timeout=0.2)


async def test_bytes_injected_after_the_stls_answer_are_refused(
    servers: Servers, client: Pop3Client
) -> None:
    port = await servers.scripted(b"+OK hi\r\n", b"+OK Begin TLS\r\n+OK Logged in\r\n")
    with pytest.raises(Pop3ProtocolError):
        await client.connect(HOST, port, security="starttls")


async def test_a_server_speaking_another_protocol_is_a_protocol_error(
    servers: Servers, client: Pop3Client
) -> None:
    port = await servers.scripted(b"220 smtp.example.com ESMTP\r\n")
    with pytest.raises(Pop3ProtocolError):
        await client.connect(HOST, port, security="none")


async def test_stls_that_gets_no_answer_times_out_and_drops_the_connection(
    servers: Servers, client: Pop3Client
) -> None:
    port = await servers.scripted(b"+OK hi\r\n")
    await client.connect(HOST, port, security="none")
    with pytest.raises(TimeoutError):
        await client.starttls(timeout=0.2)
    with pytest.raises(ConnectionError):
        await client.noop()
