"""Received mail parsed into what erpmail stores: bytes in, a ParsedEmail out, no I/O.

Built on the stdlib's compat32 parser, which is about ten times faster than policy.default (see
the field notes); the decoding it leaves out is done here. Hostile input is expected: the stdlib's
MIME parameter and address-group parsing is quadratic in the header's length, so both are replaced
by linear splitters, and whatever still fails is reported in `problems`, never raised.

The modules, each one concern: `reader` (the top-level parse), `tree` (the MIME tree and its
walk), `text` (charsets and encoded words), `fields` (addresses, identifiers, date, subject),
`bodies` and `file_names` (what parts hold, and the names attachments are saved under), `dsn`
(delivery status notifications), `automated` (mail no program should answer), `results` (the
values returned) and `problems` (the defects noticed on the way).
"""

from erpmail.server.incoming.parse.automated import AUTOMATED_SENDERS, BULK_PRECEDENCE
from erpmail.server.incoming.parse.fields import (
    MAX_ADDRESS_LENGTH,
    MAX_MESSAGE_ID_LENGTH,
    SYNTHETIC_ID_DOMAIN,
)
from erpmail.server.incoming.parse.file_names import MAX_FILE_NAME_BYTES, safe_file_name
from erpmail.server.incoming.parse.problems import MAX_PROBLEMS
from erpmail.server.incoming.parse.reader import parse_headers_fast, parse_message
from erpmail.server.incoming.parse.results import (
    FailedRecipient,
    HeaderSummary,
    ParsedAddress,
    ParsedAttachment,
    ParsedEmail,
)
from erpmail.server.incoming.parse.tree import MAX_MIME_DEPTH, MAX_MIME_PARAMETERS

__all__ = [
    "AUTOMATED_SENDERS",
    "BULK_PRECEDENCE",
    "MAX_ADDRESS_LENGTH",
    "MAX_FILE_NAME_BYTES",
    "MAX_MESSAGE_ID_LENGTH",
    "MAX_MIME_DEPTH",
    "MAX_MIME_PARAMETERS",
    "MAX_PROBLEMS",
    "SYNTHETIC_ID_DOMAIN",
    "FailedRecipient",
    "HeaderSummary",
    "ParsedAddress",
    "ParsedAttachment",
    "ParsedEmail",
    "parse_headers_fast",
    "parse_message",
    "safe_file_name",
]
