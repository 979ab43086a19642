"""TLS for erpmail's connections to mail servers (SMTP, IMAP, POP3).

Every client connection verifies the server's certificate and host name; there is deliberately no
way to turn that off. A server with a private CA or a self-signed certificate is handled by
trusting that one certificate in addition to the system CAs, not by trusting everything.
"""

from __future__ import annotations

import ssl


class TrustedCertificateError(ValueError):
    """The extra certificate to trust is not usable PEM; the message says so in user terms."""


def client_context(trusted_certificate_pem: str = "") -> ssl.SSLContext:
    """A client context trusting the system CAs plus `trusted_certificate_pem` (if not blank).

    Raises TrustedCertificateError when the extra certificate cannot be loaded, so a typo in an
    account's settings is reported as such rather than as a failed handshake later.
    """
    context = ssl.create_default_context()  # system CAs, certificate and host name checked
    if trusted_certificate_pem.strip():
        try:
            context.load_verify_locations(cadata=trusted_certificate_pem)
        except (ssl.SSLError, ValueError) as exc:
            reason = f"the trusted certificate is not a valid PEM certificate: {exc}"
            raise TrustedCertificateError(reason) from exc
    return context
