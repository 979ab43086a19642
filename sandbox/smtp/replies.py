"""SMTP replies the sandbox sends itself (aiosmtpd sends the rest), with RFC 3463 status codes."""

from __future__ import annotations

GREETING_IDENT = "erpmail sandbox ESMTP"
DEFAULT_HOSTNAME = "erpmail-sandbox"

OK = "250 2.0.0 OK"
OK_QUEUED = "250 2.0.0 OK: queued"
AUTH_SUCCESSFUL = "235 2.7.0 Authentication successful"
AUTH_INVALID = "535 5.7.8 Authentication credentials invalid"
AUTH_ABORTED = "501 5.7.0 Authentication aborted"
AUTH_BAD_BASE64 = "501 5.5.2 Cannot decode base64"
AUTH_BAD_FORMAT = "501 5.5.2 Malformed authentication data"
AUTH_LINE_TOO_LONG = "500 5.5.6 Authentication exchange line too long"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
BAD_SENDER_SYNTAX = "553 5.1.7 Bad sender address syntax"
BAD_RECIPIENT_SYNTAX = "553 5.1.3 Bad recipient address syntax"

# A reply starting with this code closes the connection once sent (RFC 5321 3.8).
CLOSING_CODE = "421"
DATA_START_CODE = "354"
AUTH_CONTINUE_CODE = "334"

LOGIN_USERNAME_CHALLENGE = b"Username:"
LOGIN_PASSWORD_CHALLENGE = b"Password:"
