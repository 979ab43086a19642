"""The shortcut for plain '<local@domain>' addresses agrees with aiosmtpd's full parser."""

from __future__ import annotations

import pytest
from aiosmtpd.smtp import SMTP
from erpmail.sandbox.smtp.session import SandboxSMTP
from erpmail.sandbox.smtp.settings import SmtpSettings
from erpmail.sandbox.store import MailStore

ARGUMENTS = [
    "<alice@example.com>",
    "<alice@example.com> SIZE=1000 BODY=8BITMIME",
    "  <a.b+tag@sub.example.co.uk>  SMTPUTF8",
    "<first.last-name_x@example-domain.org>",
    "<x!#$%&'*+/=?^_`{|}~-y@d>",
    '<"quoted local"@example.com>',
    "<a..b@example.com>",
    "<.a@example.com>",
    "<a@[127.0.0.1]>",
    "<zoë@example.com>",
    "<not an address",
    "<a b@c>",
    "alice@example.com",
    "<>",
    "<@relay.example:alice@example.com>",
    "<alice@example.com",
    "<(comment)alice@example.com>",
    "<alice@example.com> (comment) SIZE=10",
    "<alice@example.com>\tSIZE=10",
]


@pytest.mark.parametrize("argument", ARGUMENTS)
async def test_the_shortcut_gives_what_aiosmtpd_gives(argument: str) -> None:
    session = SandboxSMTP(SmtpSettings(MailStore()))
    assert session._getaddr(argument) == SMTP._getaddr(session, argument)
