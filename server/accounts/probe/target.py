"""What the account test is given: the account's servers and how to reach them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Security(StrEnum):
    NONE = "none"
    SSL_TLS = "ssl_tls"
    STARTTLS = "starttls"


@dataclass(frozen=True)
class ServerEndpoint:
    host: str
    port: int
    security: Security
    username: str
    password: str  # may be ""

    def __repr__(self) -> str:
        # Keeps the password out of tracebacks and log lines that print the target.
        return (
            f"ServerEndpoint(host={self.host!r}, port={self.port}, security={self.security!s}, "
            f"username={self.username!r}, password=...)"
        )


@dataclass(frozen=True)
class ProbeTarget:
    outgoing: ServerEndpoint | None  # None: the account does not send
    outgoing_requires_auth: bool
    incoming: ServerEndpoint | None  # None: the account does not receive
    incoming_protocol: Literal["imap", "pop3"] | None
    imap_root_folder: str  # "" means INBOX
    email_address: str
    display_name: str
    # An extra certificate (a private CA or the server's self-signed one) trusted besides the
    # system CAs. Certificates and host names are always verified.
    trusted_certificate_pem: str
    timeout: float = 10.0
