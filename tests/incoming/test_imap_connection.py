"""erpmail's IMAP session (open_imap / ImapConnection) against the sandbox IMAP server on loopback,
and against small socket servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from erpmail.sandbox.faults import Action, ActionKind, FaultEngine, Rule, Stage
from erpmail.sandbox.imap.server import start_imap_server
from erpmail.sandbox.store import INBOX, MailStore
from erpmail.sandbox.tls import Certificate, make_self_signed
from erpmail.server.core.tls import client_context
from erpmail.server.incoming.imap_connection import (
    IdleUnsupported,
    ImapCommandRefused,
    ImapConnection,
    ImapError,
    Security,
    connect_imap,
    open_imap,
    quoted_mailbox,
)

from tests.support.servers import HOST, Servers, StartServer

ADDRESS = "alice@example.test"
PASSWORD = "Tr0ub4dor-and-3-horses"
WRONG_PASSWORD = "not-the-Password-9"
TIMEOUT = 10.0  # generous: only a hang would reach it
SHORT_TIMEOUT = 0.2  # for the tests where the server is silent on purpose

NON_ASCII_FOLDER = "Entwürfe/日本語"
AMPERSAND_FOLDER = "R&D"


def message(subject: str) -> bytes:
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


@pytest.fixture
def store() -> MailStore:
    """Alice's mailbox: 3 messages in INBOX, 2 in a non-ASCII folder, 1 in "R&D"."""
    store = MailStore()
    mailbox = store.create_mailbox(ADDRESS, PASSWORD)
    for n in range(3):
        store.append(mailbox, INBOX, message(f"inbox {n}"))
    store.create_folder(mailbox, NON_ASCII_FOLDER)
    for n in range(2):
        store.append(mailbox, NON_ASCII_FOLDER, message(f"draft {n}"))
    store.create_folder(mailbox, AMPERSAND_FOLDER)
    store.append(mailbox, AMPERSAND_FOLDER, message("research"))
    return store


@pytest.fixture
def start_server(store: MailStore, servers: Servers) -> StartServer:
    return servers.starter(start_imap_server, store)


@pytest.fixture
async def connections() -> AsyncIterator[list[ImapConnection]]:
    """Connections a test opened; whatever is left open is dropped at the end."""
    opened: list[ImapConnection] = []
    yield opened
    for connection in opened:
        connection.close()


Connect = Callable[..., Awaitable[ImapConnection]]  # (port, **open_imap options) -> session


@pytest.fixture
def connect(connections: list[ImapConnection]) -> Connect:
    """Opens a session with open_imap, in the clear unless told otherwise; dropped at the end."""

    async def open_kept(port: int, **options: Any) -> ImapConnection:
        connection = await open_imap(
            HOST, port, **{"security": "none", "timeout": TIMEOUT, **options}
        )
        connections.append(connection)
        return connection

    return open_kept


async def start_for(start_server: StartServer, security: Security, certificate: Certificate) -> int:
    """A sandbox server speaking `security`: implicit TLS, STARTTLS offered, or plain only."""
    if security == "ssl":
        return await start_server(ssl_context=certificate.server_context())
    if security == "starttls":
        return await start_server(starttls_context=certificate.server_context())
    return await start_server()


def uses_tls(connection: ImapConnection) -> bool:
    transport = connection.protocol.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


# -- connecting, logging in, selecting --------------------------------------------------------


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
async def test_each_security_mode_connects_logs_in_and_select_reports_the_message_count(
    security: Security,
    start_server: StartServer,
    certificate: Certificate,
    connect: Connect,
) -> None:
    port = await start_for(start_server, security, certificate)
    connection = await connect(port, security=security, ssl_context=certificate.client_context())
    assert connection.greeting.startswith("* OK")
    assert uses_tls(connection) == (security != "none")
    assert (await connection.login(ADDRESS, PASSWORD)).startswith("OK")
    assert connection.state == "AUTH"
    reply, count = await connection.select(INBOX)
    assert reply.startswith("OK")
    assert count == 3
    assert connection.state == "SELECTED"


async def test_after_starttls_the_capabilities_are_asked_again_over_tls(
    start_server: StartServer, certificate: Certificate, connections: list[ImapConnection]
) -> None:
    port = await start_server(starttls_context=certificate.server_context())
    connection = await connect_imap(HOST, port, ssl_context=None, timeout=TIMEOUT)
    connections.append(connection)
    assert "STARTTLS" in connection.protocol.capabilities
    reply = await connection.starttls(certificate.client_context())
    assert reply.startswith("OK")
    assert uses_tls(connection)
    # The sandbox stops offering STARTTLS once TLS is on: the list was refreshed, not kept.
    assert "STARTTLS" not in connection.protocol.capabilities


async def test_starttls_is_refused_when_the_server_does_not_offer_it(
    start_server: StartServer, certificate: Certificate
) -> None:
    port = await start_server()  # plain only: going on in the clear would expose the password
    with pytest.raises(ImapError, match="STARTTLS"):
        await open_imap(
            HOST,
            port,
            security="starttls",
            ssl_context=certificate.client_context(),
            timeout=TIMEOUT,
        )


async def test_an_unknown_security_mode_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="security"):
        await open_imap(HOST, 1, security="tls", timeout=TIMEOUT)  # type: ignore[arg-type]


# -- folder names -----------------------------------------------------------------------------


def test_folder_names_are_quoted_with_non_ascii_in_modified_utf7() -> None:
    assert quoted_mailbox("INBOX") == '"INBOX"'
    # RFC 3501 5.1.3's own example.
    assert quoted_mailbox("~peter/mail/台北/日本語") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'
    assert quoted_mailbox("R&D") == '"R&-D"'
    assert quoted_mailbox("Entwürfe") == '"Entw&APw-rfe"'
    assert quoted_mailbox('say "hi"') == '"say \\"hi\\""'


@pytest.mark.parametrize(("folder", "count"), [(NON_ASCII_FOLDER, 2), (AMPERSAND_FOLDER, 1)])
async def test_a_folder_with_non_ascii_or_ampersand_in_its_name_is_selected_by_that_name(
    folder: str,
    count: int,
    start_server: StartServer,
    connect: Connect,
) -> None:
    port = await start_server()
    connection = await connect(port)
    await connection.login(ADDRESS, PASSWORD)
    assert (await connection.select(folder))[1] == count


async def test_selecting_a_missing_folder_is_refused_and_the_session_goes_on(
    start_server: StartServer, connect: Connect
) -> None:
    port = await start_server()
    connection = await connect(port)
    await connection.login(ADDRESS, PASSWORD)
    with pytest.raises(ImapCommandRefused) as refused:
        await connection.select("No such folder")
    assert refused.value.result == "NO"
    assert (await connection.select(INBOX))[1] == 3


# -- login ------------------------------------------------------------------------------------


async def test_a_wrong_password_is_refused_without_the_password_in_the_error(
    start_server: StartServer, connect: Connect
) -> None:
    port = await start_server()
    connection = await connect(port)
    with pytest.raises(ImapCommandRefused) as refused:
        await connection.login(ADDRESS, WRONG_PASSWORD)
    assert refused.value.result == "NO"
    assert "AUTHENTICATIONFAILED" in refused.value.text
    assert WRONG_PASSWORD not in str(refused.value)
    assert WRONG_PASSWORD not in repr(refused.value)
    # A refused login leaves the session usable for another try.
    await connection.login(ADDRESS, PASSWORD)
    assert connection.state == "AUTH"


async def test_a_user_name_with_a_space_is_sent_intact(
    store: MailStore, start_server: StartServer, connect: Connect
) -> None:
    store.create_mailbox("bob@example.test", "bob-pass", username="Bob Builder")
    port = await start_server()
    connection = await connect(port)
    await connection.login("Bob Builder", "bob-pass")
    assert (await connection.select(INBOX))[1] == 0


async def test_a_password_with_quotes_backslashes_and_spaces_is_sent_intact(
    store: MailStore, start_server: StartServer, connect: Connect
) -> None:
    tricky = 'a "quoted" \\back slash\\'
    store.create_mailbox("carol@example.test", tricky)
    port = await start_server()
    connection = await connect(port)
    await connection.login("carol@example.test", tricky)
    assert connection.state == "AUTH"


# -- logout and close -------------------------------------------------------------------------


async def test_logout_says_goodbye_and_closes_the_connection(
    start_server: StartServer,
) -> None:
    port = await start_server()
    connection = await open_imap(HOST, port, security="none", timeout=TIMEOUT)
    await connection.login(ADDRESS, PASSWORD)
    await connection.logout()
    assert connection.state == "LOGOUT"
    assert connection.protocol.transport.is_closing()


async def test_logout_after_the_server_dropped_the_connection_does_not_wait(
    start_server: StartServer,
) -> None:
    port = await start_server(faults=FaultEngine([Rule(Stage.IMAP_LOGIN, Action(ActionKind.DROP))]))
    connection = await open_imap(HOST, port, security="none", timeout=TIMEOUT)
    with pytest.raises(ImapError):
        await connection.login(ADDRESS, PASSWORD)
    await connection.logout(timeout=TIMEOUT)  # nothing to say LOGOUT to: it only closes


async def test_a_command_after_close_fails_with_imap_error_instead_of_waiting(
    start_server: StartServer,
) -> None:
    port = await start_server()
    connection = await open_imap(HOST, port, security="none", timeout=TIMEOUT)
    connection.close()
    with pytest.raises(ImapError):
        await connection.login(ADDRESS, PASSWORD)


# -- failures end with an answer, never a hang ------------------------------------------------


async def test_a_connection_dropped_during_login_is_an_imap_error_saying_so(
    start_server: StartServer, connect: Connect
) -> None:
    port = await start_server(faults=FaultEngine([Rule(Stage.IMAP_LOGIN, Action(ActionKind.DROP))]))
    connection = await connect(port)
    with pytest.raises(ImapError, match="closed") as raised:
        await connection.login(ADDRESS, PASSWORD)
    assert not isinstance(raised.value, ImapCommandRefused)
    assert PASSWORD not in str(raised.value)


async def test_a_refused_command_from_a_fault_is_reported_with_the_servers_text(
    start_server: StartServer, connect: Connect
) -> None:
    refuse = Action(ActionKind.REPLY, text="[UNAVAILABLE] maintenance")
    port = await start_server(faults=FaultEngine([Rule(Stage.IMAP_SELECT, refuse, times=1)]))
    connection = await connect(port)
    await connection.login(ADDRESS, PASSWORD)
    with pytest.raises(ImapCommandRefused, match="UNAVAILABLE"):
        await connection.select(INBOX)
    assert (await connection.select(INBOX))[1] == 3


async def test_a_server_that_never_greets_times_out(servers: Servers) -> None:
    port = await servers.scripted(b"")
    with pytest.raises(TimeoutError):
        await open_imap(HOST, port, security="none", timeout=SHORT_TIMEOUT)


async def test_a_tls_server_that_never_completes_the_handshake_times_out(
    servers: Servers, certificate: Certificate
) -> None:
    port = await servers.scripted(b"")  # accepts, never speaks TLS
    with pytest.raises(TimeoutError):
        await open_imap(
            HOST,
            port,
            security="ssl",
            ssl_context=certificate.client_context(),
            timeout=SHORT_TIMEOUT,
        )


async def test_a_command_that_gets_no_answer_times_out(
    start_server: StartServer, connect: Connect
) -> None:
    stall = Action(ActionKind.DELAY, delay_seconds=30)
    port = await start_server(faults=FaultEngine([Rule(Stage.IMAP_LOGIN, stall)]))
    connection = await connect(port, timeout=SHORT_TIMEOUT)
    with pytest.raises(TimeoutError):
        await connection.login(ADDRESS, PASSWORD)


async def test_a_pop3_server_is_not_taken_for_an_imap_server(servers: Servers) -> None:
    port = await servers.scripted(b"+OK POP3 ready\r\n")
    with pytest.raises(ImapError, match="not an IMAP server"):
        await open_imap(HOST, port, security="none", timeout=TIMEOUT)


async def test_a_bye_greeting_is_an_imap_error_with_the_servers_words(servers: Servers) -> None:
    port = await servers.scripted(b"* BYE too many connections from your address\r\n")
    with pytest.raises(ImapError, match="too many connections"):
        await open_imap(HOST, port, security="none", timeout=TIMEOUT)


# -- certificates -----------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_an_untrusted_certificate_is_refused_and_accepted_once_its_pem_is_trusted(
    security: Security,
    start_server: StartServer,
    certificate: Certificate,
    connect: Connect,
) -> None:
    port = await start_for(start_server, security, certificate)
    with pytest.raises(ssl.SSLCertVerificationError):
        await open_imap(HOST, port, security=security, timeout=TIMEOUT)  # system CAs only
    trusting = client_context(certificate.cert_pem.decode())
    connection = await connect(port, security=security, ssl_context=trusting)
    await connection.login(ADDRESS, PASSWORD)
    assert (await connection.select(INBOX))[1] == 3


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_a_trusted_certificate_for_another_host_name_is_refused(
    security: Security, start_server: StartServer
) -> None:
    other = make_self_signed(("mail.other.test",))  # also names 127.0.0.1, not "localhost"
    port = await start_for(start_server, security, other)
    trusting = client_context(other.cert_pem.decode())
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname"):
        await open_imap("localhost", port, security=security, ssl_context=trusting, timeout=TIMEOUT)


# -- STARTTLS injection -----------------------------------------------------------------------


@pytest.fixture
def injecting_server(certificate: Certificate, servers: Servers) -> Callable[[bytes], Any]:
    """A minimal IMAP server offering STARTTLS that sends `injected` in the clear right after its
    OK to STARTTLS (as a man in the middle would), then does TLS and answers normally."""

    async def start(injected: bytes) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
            capabilities = b"IMAP4rev1 STARTTLS"
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                while line := await reader.readline():
                    tag, _, command = line.decode().strip().partition(" ")
                    if command.upper() == "STARTTLS":
                        writer.write(f"{tag} OK Begin TLS\r\n".encode() + injected)
                        await writer.drain()
                        await writer.start_tls(certificate.server_context())
                        capabilities = b"IMAP4rev1"
                        continue
                    if command.upper() == "CAPABILITY":
                        writer.write(b"* CAPABILITY " + capabilities + b"\r\n")
                    writer.write(f"{tag} OK done\r\n".encode())
            writer.close()

        return await servers.listen(handle)

    return start


async def test_the_injecting_test_server_is_a_working_starttls_server(
    injecting_server: Callable[[bytes], Awaitable[int]],
    certificate: Certificate,
    connect: Connect,
) -> None:
    port = await injecting_server(b"")
    connection = await connect(port, security="starttls", ssl_context=certificate.client_context())
    assert uses_tls(connection)
    await connection.login(ADDRESS, PASSWORD)


@pytest.mark.parametrize(
    "injected",
    [b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n", b"* CAPABILITY IMAP4rev1 INJECTED"],
    ids=["whole-line", "partial-line"],
)
async def test_bytes_injected_in_the_clear_after_the_starttls_answer_are_refused(
    injected: bytes,
    injecting_server: Callable[[bytes], Awaitable[int]],
    certificate: Certificate,
    connect: Connect,
) -> None:
    port = await injecting_server(injected)
    try:
        connection = await connect(
            port, security="starttls", ssl_context=certificate.client_context()
        )
    except ImapError:
        return
    pytest.fail(f"accepted; capabilities now {sorted(connection.protocol.capabilities)}")


# -- IDLE (RFC 2177) --------------------------------------------------------------------------


def deliver_news(store: MailStore) -> None:
    mailbox = store.mailbox_for_address(ADDRESS)
    assert mailbox is not None
    store.append(mailbox, INBOX, message("news"))


async def _selected(connect: Connect, port: int, **options: Any) -> ImapConnection:
    connection = await connect(port, **options)
    await connection.login(ADDRESS, PASSWORD)
    await connection.select(INBOX)
    return connection


async def test_idle_returns_once_new_mail_arrives_and_the_folder_stays_selected(
    store: MailStore, start_server: StartServer, connect: Connect
) -> None:
    connection = await _selected(connect, await start_server())
    idling = asyncio.ensure_future(connection.idle(TIMEOUT))
    # Before or after IDLE began: the server announces what changed since SELECT either way.
    deliver_news(store)

    assert await idling is True
    assert connection.state == "SELECTED"
    assert (await connection.select(INBOX))[1] == 4


async def test_idle_without_news_returns_false_when_its_time_is_up_and_can_begin_again(
    store: MailStore, start_server: StartServer, connect: Connect
) -> None:
    connection = await _selected(connect, await start_server())

    assert await connection.idle(SHORT_TIMEOUT) is False

    again = asyncio.ensure_future(connection.idle(TIMEOUT))
    deliver_news(store)
    assert await again is True


async def test_cancelling_idle_ends_it_so_that_logout_is_answered(
    start_server: StartServer, connect: Connect
) -> None:
    connection = await _selected(connect, await start_server())
    idling = asyncio.ensure_future(connection.idle(TIMEOUT))
    await asyncio.wait_for(connection.protocol.wait_for_idle_response(), TIMEOUT)  # in IDLE

    idling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await idling

    await connection.logout(timeout=TIMEOUT)  # would time out if IDLE had not been ended
    assert connection.state == "LOGOUT"


StartIdleServer = Callable[..., Awaitable[tuple[int, list[str]]]]


@pytest.fixture
def idle_server(servers: Servers) -> StartIdleServer:
    """A minimal IMAP server that logs anyone in and selects any folder, answers IDLE with
    `idling` and DONE with `done` ("{tag}" in them becomes the IDLE command's tag), and hangs up
    after the IDLE answer if told. Returns its port and the lines it received."""

    async def start(
        idling: bytes,
        done: bytes = b"{tag} OK IDLE terminated\r\n",
        capabilities: bytes = b"IMAP4rev1 IDLE",
        hang_up: bool = False,
    ) -> tuple[int, list[str]]:
        received: list[str] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"* OK ready\r\n")
            idle_tag = b""
            with contextlib.suppress(ConnectionError):
                while line := await reader.readline():
                    text = line.decode().strip()
                    received.append(text)
                    tag, _, command = text.partition(" ")
                    name = command.partition(" ")[0].upper()
                    if text.upper() == "DONE":
                        writer.write(done.replace(b"{tag}", idle_tag))
                    elif name == "IDLE":
                        idle_tag = tag.encode()
                        writer.write(idling.replace(b"{tag}", idle_tag))
                        if hang_up:
                            break
                    else:
                        if name == "CAPABILITY":
                            writer.write(b"* CAPABILITY " + capabilities + b"\r\n")
                        elif name == "SELECT":
                            writer.write(b"* 3 EXISTS\r\n")
                        writer.write(tag.encode() + b" OK done\r\n")
            writer.close()

        return await servers.listen(handle), received

    return start


async def test_recent_announces_new_mail_too(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, received = await idle_server(b"+ idling\r\n* 4 RECENT\r\n")
    connection = await _selected(connect, port)

    assert await connection.idle(TIMEOUT) is True
    assert received[-1] == "DONE"


async def test_flag_changes_expunges_and_keepalives_are_not_new_mail(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, received = await idle_server(
        b"+ idling\r\n* 1 FETCH (FLAGS (\\Seen))\r\n* 2 EXPUNGE\r\n* OK Still here\r\n"
    )
    connection = await _selected(connect, port)

    assert await connection.idle(SHORT_TIMEOUT) is False
    assert received[-1] == "DONE"  # ended properly after its time was up


async def test_idle_is_not_sent_to_a_server_that_does_not_offer_it(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, received = await idle_server(b"+ idling\r\n", capabilities=b"IMAP4rev1")
    connection = await _selected(connect, port)

    with pytest.raises(IdleUnsupported):
        await connection.idle(TIMEOUT)
    assert not any(line.upper().endswith(" IDLE") for line in received)


async def test_a_refused_idle_is_reported_with_the_servers_text_and_the_session_goes_on(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, _ = await idle_server(b"{tag} NO [UNAVAILABLE] not now\r\n")
    connection = await _selected(connect, port)

    with pytest.raises(ImapCommandRefused, match="UNAVAILABLE"):
        await connection.idle(TIMEOUT)
    assert (await connection.select(INBOX))[1] == 3


async def test_a_server_that_ends_idle_itself_is_not_sent_done(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, received = await idle_server(b"+ idling\r\n{tag} OK IDLE ended by the server\r\n")
    connection = await _selected(connect, port)

    assert await connection.idle(TIMEOUT) is False
    assert "DONE" not in received


async def test_an_idle_the_server_never_accepts_times_out(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, _ = await idle_server(b"")
    connection = await _selected(connect, port, timeout=SHORT_TIMEOUT)

    with pytest.raises(TimeoutError):
        await connection.idle(TIMEOUT)


async def test_a_done_the_server_never_answers_times_out(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, _ = await idle_server(b"+ idling\r\n* 4 EXISTS\r\n", done=b"")
    connection = await _selected(connect, port, timeout=SHORT_TIMEOUT)

    with pytest.raises(TimeoutError):
        await connection.idle(TIMEOUT)


async def test_a_connection_dropped_during_idle_is_an_imap_error_saying_so(
    idle_server: StartIdleServer, connect: Connect
) -> None:
    port, _ = await idle_server(b"+ idling\r\n", hang_up=True)
    connection = await _selected(connect, port)

    with pytest.raises(ImapError, match="closed"):
        await connection.idle(TIMEOUT)
