"""aiosmtpd's logger, with the one warning that is wrong for a sandbox left out."""

from __future__ import annotations

import logging

AIOSMTPD_LOGGER = "mail.log"
# Logged for every session when AUTH is required on a port without TLS: a production worry, but
# the sandbox does that on purpose (test clients log in on plain ports).
_AUTH_WITHOUT_TLS = "auth_required == True but auth_require_tls == False"


class _AuthWithoutTlsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _AUTH_WITHOUT_TLS


_FILTER = _AuthWithoutTlsFilter()


def silence_auth_without_tls_warning() -> None:
    """Idempotent: the logger keeps one instance of the filter however often this runs."""
    logging.getLogger(AIOSMTPD_LOGGER).addFilter(_FILTER)
