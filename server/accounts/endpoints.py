"""Where and how to connect for an account: servers, ports, TLS and the credentials to use."""

from __future__ import annotations

from typing import Literal

from erpmail.server.accounts.models import Account, IncomingProtocol, Passwords
from erpmail.server.accounts.probe import ProbeTarget, Security, ServerEndpoint

# How the IMAP and POP3 clients name the connection security.
ClientSecurity = Literal["none", "ssl", "starttls"]
_CLIENT_SECURITY: dict[Security, ClientSecurity] = {
    Security.NONE: "none",
    Security.SSL_TLS: "ssl",
    Security.STARTTLS: "starttls",
}

PROBE_TIMEOUT = 10.0


def outgoing_endpoint(account: Account, passwords: Passwords) -> ServerEndpoint | None:
    """The SMTP server, with the credentials the sources prescribe: the outgoing server's own
    when "log in using" is set, else the incoming server's; none unless authentication is on."""
    if not account.usage.sends:
        return None
    out = account.outgoing
    if not out.requires_authentication:
        username, password = "", ""
    elif out.use_own_credentials:
        username, password = out.username, passwords.outgoing or ""
    else:
        username, password = account.incoming.username, passwords.incoming or ""
    return ServerEndpoint(
        host=out.host,
        port=account.outgoing_port(),
        security=Security(out.security.value),
        username=username,
        password=password,
    )


def incoming_endpoint(account: Account, passwords: Passwords) -> ServerEndpoint | None:
    if not account.usage.receives or account.incoming.protocol is IncomingProtocol.NONE:
        return None
    inc = account.incoming
    return ServerEndpoint(
        host=inc.host,
        port=account.incoming_port(),
        security=Security(inc.security.value),
        username=inc.username,
        password=passwords.incoming or "",
    )


def probe_target(account: Account, passwords: Passwords) -> ProbeTarget:
    incoming = incoming_endpoint(account, passwords)
    return ProbeTarget(
        outgoing=outgoing_endpoint(account, passwords),
        outgoing_requires_auth=account.outgoing.requires_authentication,
        incoming=incoming,
        incoming_protocol=(
            None
            if incoming is None
            else ("imap" if account.incoming.protocol is IncomingProtocol.IMAP else "pop3")
        ),
        imap_root_folder=account.incoming.root_folder,
        email_address=account.email_address,
        display_name=account.display_name,
        trusted_certificate_pem=account.trusted_certificate_pem,
        timeout=PROBE_TIMEOUT,
    )


def client_security(endpoint: ServerEndpoint) -> ClientSecurity:
    return _CLIENT_SECURITY[endpoint.security]
