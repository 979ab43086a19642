"""Connecting to an account's incoming server and logging in: shared by receipt and IDLE."""

from __future__ import annotations

from erpmail.server.accounts.endpoints import client_security
from erpmail.server.accounts.models import Account
from erpmail.server.accounts.probe import ServerEndpoint
from erpmail.server.core.tls import client_context
from erpmail.server.incoming.imap_connection import ImapConnection, open_imap


async def login_imap(account: Account, endpoint: ServerEndpoint, timeout: float) -> ImapConnection:
    """An IMAP session of the account, logged in (or pre-authenticated by the server); the caller
    logs out."""
    connection = await open_imap(
        endpoint.host,
        endpoint.port,
        security=client_security(endpoint),
        ssl_context=client_context(account.trusted_certificate_pem),
        timeout=timeout,
    )
    try:
        if connection.state != "AUTH":  # else PREAUTH: logged in by the server
            await connection.login(endpoint.username, endpoint.password)
    except BaseException:
        await connection.logout(timeout=2.0)
        raise
    return connection
