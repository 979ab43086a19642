"""The texts and response codes the sandbox's IMAP server sends, in one place."""

from __future__ import annotations

CAPABILITIES = (
    "IMAP4rev1",
    "LITERAL+",
    "SASL-IR",
    "ID",
    "ENABLE",
    "IDLE",
    "NAMESPACE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CHILDREN",
    "AUTH=PLAIN",
    "AUTH=XOAUTH2",
)
STARTTLS_CAPABILITY = "STARTTLS"
SERVER_ID = (("name", "erpmail-sandbox"), ("vendor", "erpmail"), ("version", "0.1"))

GREETING = "erpmail sandbox IMAP4rev1 server ready"
BYE_LOGOUT = "erpmail sandbox IMAP server logging out"
BYE_AUTOLOGOUT = "Autologout; idle for too long"
BYE_MAILBOX_GONE = "Mailbox no longer exists"
BYE_FOLDER_CHANGED = "Selected mailbox was deleted, renamed or renumbered (UIDVALIDITY changed)"

OK = "OK"
NO = "NO"
BAD = "BAD"

COMPLETED = "{name} completed"
STARTTLS_BEGIN = "Begin TLS negotiation now"
LITERAL_READY = "Ready for literal data"
IDLING = "idling"
SASL_CONTINUE = "+ "  # an empty server challenge
READ_WRITE = "[READ-WRITE] {name} completed"
READ_ONLY = "[READ-ONLY] {name} completed"

UNKNOWN_COMMAND = "Unknown command {name}"
UID_NOT_ALLOWED = "UID cannot be used with {name}"
NOT_AUTHENTICATED = "Log in first"
ALREADY_AUTHENTICATED = "Already logged in"
NOT_SELECTED = "No mailbox selected"
ENABLE_AFTER_SELECT = "ENABLE is allowed only before SELECT"
AUTH_FAILED = "[AUTHENTICATIONFAILED] Invalid credentials"
AUTH_UNSUPPORTED = "[CANNOT] Unsupported authentication mechanism"
AUTH_CANCELLED = "Authentication cancelled"
AUTH_BAD_BASE64 = "Invalid base64 in authentication data"
AUTH_BAD_MESSAGE = "Malformed authentication data"
AUTHZ_REFUSED = "[AUTHORIZATIONFAILED] Cannot act as another user"
TLS_ACTIVE = "TLS is already active"
TLS_UNAVAILABLE = "STARTTLS is not available here"
NONEXISTENT = "[NONEXISTENT] No such mailbox"
TRYCREATE = "[TRYCREATE] No such mailbox"
ALREADY_EXISTS = "[ALREADYEXISTS] Mailbox already exists"
CANNOT_INBOX = "[CANNOT] INBOX cannot be deleted"
READ_ONLY_MAILBOX = "[READ-ONLY] Mailbox is open read-only"
BAD_CHARSET = "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"
EXPECTED_DONE = "Expected DONE to end IDLE"
LINE_TOO_LONG = "Line too long"
UNKNOWN_STATUS_ITEM = "Unknown STATUS item {name}"
SERVER_BUG = "[SERVERBUG] Internal error while processing the command"
