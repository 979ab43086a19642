"""The account connection test against real servers on loopback: SMTP (aiosmtpd), the sandbox's
IMAP and POP3 servers, and small socket servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from erpmail.sandbox.imap.server import start_imap_server
from erpmail.sandbox.pop3.server import start_pop3_server
from erpmail.sandbox.store import INBOX, Mailbox, MailStore
from erpmail.sandbox.tls import Certificate, make_self_signed
from erpmail.server.accounts.probe import (
    ProbeTarget,
    Security,
    ServerEndpoint,
    Step,
    probe_account,
)

from tests.support.aiosmtpd_delivery import Deliver
from tests.support.servers import HOST, Servers, closed_port

ADDRESS = "alice@example.test"
PASSWORD = "Tr0ub4dor-and-3-horses"
WRONG_PASSWORD = "not-the-Password-9"
DISPLAY_NAME = "Alice Example"


# -- servers ----------------------------------------------------------------------------------


class StoreAuthenticator:
    def __init__(self, store: MailStore, *, leak_password_in_reply: bool = False) -> None:
        self.store = store
        self.leak = leak_password_in_reply

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        if self.leak:  # a careless server that quotes the credentials back
            message = f"535 5.7.8 rejected {user} with password {password}"
            return AuthResult(success=False, handled=False, message=message)
        if self.store.authenticate(user, password) is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True)


@pytest.fixture
def store() -> MailStore:
    store = MailStore()
    store.create_mailbox(ADDRESS, PASSWORD)
    return store


@pytest.fixture
def mailbox(store: MailStore) -> Mailbox:
    return store.mailboxes[ADDRESS]


def tls_for(security: Security, certificate: Certificate | None) -> dict[str, Any]:
    """The server's TLS contexts for `security`: implicit TLS, STARTTLS offered, or none."""
    context = certificate.server_context() if certificate else None
    return {
        "ssl_context": context if security == Security.SSL_TLS else None,
        "starttls_context": context if security == Security.STARTTLS else None,
    }


async def start_smtp(
    store: MailStore,
    security: Security,
    certificate: Certificate | None = None,
    *,
    leak_password_in_reply: bool = False,
) -> asyncio.Server:
    handler = Deliver(store)
    authenticator = StoreAuthenticator(store, leak_password_in_reply=leak_password_in_reply)
    tls = tls_for(security, certificate)

    def session() -> SMTP:
        return SMTP(
            handler,
            hostname="smtp.sandbox.test",
            authenticator=authenticator,
            tls_context=tls["starttls_context"],
            # aiosmtpd cannot tell implicit TLS from plain text, so it is told not to care.
            auth_require_tls=security == Security.STARTTLS,
        )

    loop = asyncio.get_running_loop()
    return await loop.create_server(session, HOST, 0, ssl=tls["ssl_context"])


async def start_imap(
    store: MailStore, security: Security, certificate: Certificate
) -> asyncio.Server:
    return await start_imap_server(store, host=HOST, port=0, **tls_for(security, certificate))


async def start_pop3(
    store: MailStore, security: Security, certificate: Certificate
) -> asyncio.Server:
    return await start_pop3_server(store, host=HOST, port=0, **tls_for(security, certificate))


# -- targets ----------------------------------------------------------------------------------


def endpoint(port: int, security: Security, password: str = PASSWORD) -> ServerEndpoint:
    return ServerEndpoint(HOST, port, security, ADDRESS, password)


def target(
    certificate: Certificate | None,
    *,
    outgoing: ServerEndpoint | None = None,
    incoming: ServerEndpoint | None = None,
    protocol: str | None = "imap",
    root_folder: str = "",
    timeout: float = 5.0,
) -> ProbeTarget:
    return ProbeTarget(
        outgoing=outgoing,
        outgoing_requires_auth=True,
        incoming=incoming,
        incoming_protocol=protocol if incoming else None,  # type: ignore[arg-type]
        imap_root_folder=root_folder,
        email_address=ADDRESS,
        display_name=DISPLAY_NAME,
        trusted_certificate_pem=certificate.cert_pem.decode() if certificate else "",
        timeout=timeout,
    )


def both(
    certificate: Certificate | None,
    outgoing: tuple[int, Security],
    incoming: tuple[int, Security],
    **options: Any,
) -> ProbeTarget:
    """A target with both servers, each given as (port, security), and the right password."""
    return target(
        certificate, outgoing=endpoint(*outgoing), incoming=endpoint(*incoming), **options
    )


def names(steps: list[Step], server: str) -> list[str]:
    return [s.name for s in steps if s.server == server]


def only(steps: list[Step], server: str, name: str) -> Step:
    [step] = [s for s in steps if s.server == server and s.name == name]
    return step


def assert_all_ok(steps: list[Step]) -> None:
    failed = [s for s in steps if not s.ok]
    assert not failed, failed


def assert_only_the_connects_failed(steps: list[Step], detail: str) -> None:
    """Both servers failed at connect, each with a detail starting with `detail`."""
    assert [(s.server, s.name, s.ok) for s in steps] == [
        ("outgoing", "connect", False),
        ("incoming", "connect", False),
    ]
    assert all(s.detail.startswith(detail) for s in steps)


# -- all green --------------------------------------------------------------------------------


async def test_smtp_with_starttls_and_imap_with_implicit_tls_pass_every_step(
    servers: Servers, store: MailStore, mailbox: Mailbox, certificate: Certificate
) -> None:
    for n in range(3):
        store.append(mailbox, INBOX, f"Subject: old {n}\r\n\r\nhello\r\n".encode())
    smtp_port = await servers.add(start_smtp(store, Security.STARTTLS, certificate))
    imap_port = await servers.add(start_imap(store, Security.SSL_TLS, certificate))

    steps = await probe_account(
        both(certificate, (smtp_port, Security.STARTTLS), (imap_port, Security.SSL_TLS))
    )

    assert_all_ok(steps)
    assert names(steps, "outgoing") == ["connect", "starttls", "ehlo", "auth"]
    assert names(steps, "incoming") == ["connect", "login", "select"]
    assert only(steps, "outgoing", "connect").detail.startswith("220")
    assert only(steps, "outgoing", "auth").detail.startswith("235")
    assert "3 messages in INBOX" in only(steps, "incoming", "select").detail
    # Outgoing steps come first whatever finishes first.
    assert [s.server for s in steps] == ["outgoing"] * 4 + ["incoming"] * 3


async def test_plain_smtp_and_imap_with_starttls_pass_every_step(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.NONE))
    imap_port = await servers.add(start_imap(store, Security.STARTTLS, certificate))

    steps = await probe_account(
        both(certificate, (smtp_port, Security.NONE), (imap_port, Security.STARTTLS))
    )

    assert_all_ok(steps)
    assert names(steps, "outgoing") == ["connect", "ehlo", "auth"]
    assert names(steps, "incoming") == ["connect", "starttls", "login", "select"]


async def test_smtp_with_implicit_tls_and_pop3_pass_every_step(
    servers: Servers, store: MailStore, mailbox: Mailbox, certificate: Certificate
) -> None:
    store.append(mailbox, INBOX, b"Subject: waiting\r\n\r\nhello\r\n")
    smtp_port = await servers.add(start_smtp(store, Security.SSL_TLS, certificate))
    pop3_port = await servers.add(start_pop3(store, Security.SSL_TLS, certificate))

    steps = await probe_account(
        both(
            certificate,
            (smtp_port, Security.SSL_TLS),
            (pop3_port, Security.SSL_TLS),
            protocol="pop3",
        )
    )

    assert_all_ok(steps)
    assert names(steps, "outgoing") == ["connect", "ehlo", "auth"]
    assert names(steps, "incoming") == ["connect", "login", "stat"]
    assert only(steps, "incoming", "stat").detail.startswith("+OK 1 ")


async def test_pop3_with_stls_passes_every_step(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    pop3_port = await servers.add(start_pop3(store, Security.STARTTLS, certificate))

    steps = await probe_account(
        target(certificate, incoming=endpoint(pop3_port, Security.STARTTLS), protocol="pop3")
    )

    assert_all_ok(steps)
    assert names(steps, "incoming") == ["connect", "starttls", "login", "stat"]


async def test_imap_select_opens_the_root_folder_and_reports_its_message_count(
    servers: Servers, store: MailStore, mailbox: Mailbox, certificate: Certificate
) -> None:
    store.create_folder(mailbox, "ERP Ärchiv & Co")
    for n in range(2):
        store.append(mailbox, "ERP Ärchiv & Co", f"Subject: {n}\r\n\r\nhi\r\n".encode())
    imap_port = await servers.add(start_imap(store, Security.SSL_TLS, certificate))
    incoming = endpoint(imap_port, Security.SSL_TLS)

    steps = await probe_account(
        target(certificate, incoming=incoming, root_folder="ERP Ärchiv & Co")
    )
    missing = await probe_account(target(certificate, incoming=incoming, root_folder="No Such"))

    assert_all_ok(steps)
    assert "2 messages in ERP Ärchiv & Co" in only(steps, "incoming", "select").detail
    select = only(missing, "incoming", "select")
    assert not select.ok
    assert select.detail.startswith("NO")


# -- the test email ---------------------------------------------------------------------------


async def test_test_email_is_sent_to_the_accounts_own_address(
    servers: Servers, store: MailStore, mailbox: Mailbox, certificate: Certificate
) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.STARTTLS, certificate))

    steps = await probe_account(
        target(certificate, outgoing=endpoint(smtp_port, Security.STARTTLS)), send_test_email=True
    )

    assert_all_ok(steps)
    sent = only(steps, "outgoing", "send test email")
    assert sent.detail.startswith("250")
    [received] = store.received
    assert received.mail_from == ADDRESS
    assert received.rcpt_tos == [ADDRESS]
    message = message_from_bytes(received.raw, policy=policy.default)
    assert message["From"].addresses[0].display_name == DISPLAY_NAME
    assert message["From"].addresses[0].addr_spec == ADDRESS
    assert message["To"].addresses[0].addr_spec == ADDRESS
    assert "erpmail account test" in message["Subject"]
    assert message["Date"]
    assert message["Message-ID"].strip() in sent.detail
    assert len(mailbox.folder(INBOX).messages) == 1


async def test_no_test_email_is_sent_unless_asked(servers: Servers, store: MailStore) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.NONE))

    steps = await probe_account(target(None, outgoing=endpoint(smtp_port, Security.NONE)))

    assert_all_ok(steps)
    assert "send test email" not in names(steps, "outgoing")
    assert store.received == []


# -- failures ---------------------------------------------------------------------------------


async def test_wrong_password_fails_smtp_auth_with_535_and_sends_nothing(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.STARTTLS, certificate))
    outgoing = endpoint(smtp_port, Security.STARTTLS, password=WRONG_PASSWORD)

    steps = await probe_account(target(certificate, outgoing=outgoing), send_test_email=True)

    auth = steps[-1]
    assert (auth.name, auth.ok) == ("auth", False)
    assert auth.detail.startswith("535")
    assert "send test email" not in names(steps, "outgoing")
    assert store.received == []


@pytest.mark.parametrize(
    ("protocol", "start", "refusal"),
    [("imap", start_imap, "NO"), ("pop3", start_pop3, "-ERR")],
    ids=["imap", "pop3"],
)
async def test_wrong_password_fails_the_incoming_login_and_skips_the_mailbox_step(
    servers: Servers,
    store: MailStore,
    certificate: Certificate,
    protocol: str,
    start: Callable[[MailStore, Security, Certificate], Awaitable[asyncio.Server]],
    refusal: str,
) -> None:
    port = await servers.add(start(store, Security.SSL_TLS, certificate))
    incoming = endpoint(port, Security.SSL_TLS, password=WRONG_PASSWORD)

    steps = await probe_account(target(certificate, incoming=incoming, protocol=protocol))

    assert names(steps, "incoming") == ["connect", "login"]  # no select, no stat
    login = only(steps, "incoming", "login")
    assert not login.ok
    assert login.detail.startswith(refusal)


async def test_closed_port_fails_connect_and_the_other_server_is_still_tested(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    imap_port = await servers.add(start_imap(store, Security.SSL_TLS, certificate))

    steps = await probe_account(
        both(certificate, (closed_port(), Security.SSL_TLS), (imap_port, Security.SSL_TLS)),
        send_test_email=True,
    )

    assert steps[0] == Step("outgoing", "connect", False, "connection refused")
    assert names(steps, "outgoing") == ["connect"]
    assert names(steps, "incoming") == ["connect", "login", "select"]
    assert all(s.ok for s in steps if s.server == "incoming")


async def test_imap_client_at_a_pop3_port_is_told_it_is_not_an_imap_server(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    pop3_port = await servers.add(start_pop3(store, Security.NONE, certificate))

    steps = await probe_account(target(certificate, incoming=endpoint(pop3_port, Security.NONE)))

    [connect] = steps
    assert not connect.ok
    assert connect.detail.startswith("not an IMAP server: +OK")


async def test_silent_server_ends_in_a_timed_out_connect_step(servers: Servers) -> None:
    smtp_port = await servers.scripted(b"")
    imap_port = await servers.scripted(b"")

    steps = await probe_account(
        both(None, (smtp_port, Security.NONE), (imap_port, Security.NONE), timeout=0.5)
    )

    assert_only_the_connects_failed(steps, "timed out after 0.5 s")


async def test_tls_client_to_a_plain_port_fails_the_tls_handshake(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.NONE))
    imap_port = await servers.add(start_imap(store, Security.NONE, certificate))

    steps = await probe_account(
        both(certificate, (smtp_port, Security.SSL_TLS), (imap_port, Security.SSL_TLS))
    )

    assert_only_the_connects_failed(steps, "TLS handshake failed")


async def test_plain_client_to_an_implicit_tls_port_times_out_waiting_for_the_greeting(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.SSL_TLS, certificate))
    imap_port = await servers.add(start_imap(store, Security.SSL_TLS, certificate))

    steps = await probe_account(
        both(certificate, (smtp_port, Security.NONE), (imap_port, Security.NONE), timeout=0.5)
    )

    assert_only_the_connects_failed(steps, "timed out")


async def test_starttls_requested_but_not_offered_fails_the_starttls_step(
    servers: Servers, store: MailStore
) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.NONE))

    steps = await probe_account(target(None, outgoing=endpoint(smtp_port, Security.STARTTLS)))

    assert names(steps, "outgoing") == ["connect", "starttls"]
    starttls = only(steps, "outgoing", "starttls")
    assert not starttls.ok
    assert "STARTTLS" in starttls.detail


async def test_untrusted_self_signed_certificate_is_refused(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    smtp_port = await servers.add(start_smtp(store, Security.STARTTLS, certificate))
    imap_port = await servers.add(start_imap(store, Security.SSL_TLS, certificate))

    # The sandbox's certificate is not trusted.
    steps = await probe_account(
        both(None, (smtp_port, Security.STARTTLS), (imap_port, Security.SSL_TLS))
    )

    assert names(steps, "outgoing") == ["connect", "starttls"]
    assert names(steps, "incoming") == ["connect"]
    for step in (only(steps, "outgoing", "starttls"), only(steps, "incoming", "connect")):
        assert not step.ok
        assert "certificate verify failed" in step.detail


async def test_trusted_certificate_for_another_host_name_is_still_refused(
    servers: Servers, store: MailStore
) -> None:
    other = make_self_signed(("mail.elsewhere.test",))
    smtp_port = await servers.add(start_smtp(store, Security.SSL_TLS, other))
    outgoing = ServerEndpoint("localhost", smtp_port, Security.SSL_TLS, ADDRESS, PASSWORD)

    steps = await probe_account(target(other, outgoing=outgoing))

    [connect] = steps
    assert not connect.ok
    assert "certificate verify failed" in connect.detail


async def test_password_never_appears_in_any_step_detail(
    servers: Servers, store: MailStore, certificate: Certificate
) -> None:
    leaky_port = await servers.add(start_smtp(store, Security.NONE, leak_password_in_reply=True))
    smtp_port = await servers.add(start_smtp(store, Security.STARTTLS, certificate))
    imap_port = await servers.add(start_imap(store, Security.SSL_TLS, certificate))
    runs = [
        target(None, outgoing=endpoint(leaky_port, Security.NONE)),
        both(certificate, (smtp_port, Security.STARTTLS), (imap_port, Security.SSL_TLS)),
        target(
            certificate,
            outgoing=endpoint(smtp_port, Security.STARTTLS, password=WRONG_PASSWORD),
            incoming=endpoint(imap_port, Security.SSL_TLS, password=WRONG_PASSWORD),
        ),
        target(None, outgoing=endpoint(closed_port(), Security.NONE)),
    ]

    results = [await probe_account(run, send_test_email=True) for run in runs]

    leaked = only(results[0], "outgoing", "auth")
    assert not leaked.ok
    assert "rejected" in leaked.detail  # the server's reply is kept, its copy of the secret not
    for run in runs:
        assert PASSWORD not in repr(run)
    for steps in results:
        for step in steps:
            assert PASSWORD not in step.detail
            assert WRONG_PASSWORD not in step.detail


async def test_account_without_servers_has_nothing_to_test() -> None:
    assert await probe_account(target(None)) == []
