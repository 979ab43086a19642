"""What the incoming store takes and hands back: a received email, where its message lies on
the server, and what processing it came to.

Kept apart from the store's parts because fetching, mapping and processing build and read these
without touching the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from erpmail.server.incoming.bounces import Bounce
from erpmail.server.incoming.plan import RequestDraft
from erpmail.server.incoming.threading import ThreadKeys
from erpmail.server.outgoing.models import Address, Content, RelatedEntity, Status


@dataclass(frozen=True)
class ServerLocation:
    """Where a received message lies on the server: IMAP folder and UID, or POP3 UIDL."""

    folder: str = ""
    uidvalidity: int = 0
    uid: int = 0
    uidl: str = ""


@dataclass(frozen=True)
class ProcessingOutcome:
    """What processing an email came to; with an error, only the error (and deletion) count."""

    error: str = ""
    owner_id: str = ""
    work_group_id: str = ""
    related_entity: RelatedEntity | None = None
    requests: Sequence[RequestDraft] = ()
    reference_info: str = ""
    delete_on_server: bool = False
    auto_replied_to: str = ""  # the sender's address when automatic replies went to them
    auto_replies: int = 0


@dataclass
class IncomingEmail:
    message_id: str
    sender: Address | None
    content: Content
    status: Status
    error: str
    raw: bytes
    bounce: Bounce | None = None  # a delivery status notification about one of our emails
    # Set when the account processes incoming mail: what may match the email to its thread.
    thread_keys: ThreadKeys | None = None
    thread_email_id: int | None = None  # filled in by the store
    date: datetime | None = None  # the Date header, for quoting the email
    automated: bool = False  # auto-submitted or a delivery report: never forwarded
    location: ServerLocation = ServerLocation()
    # The message was removed from the server when fetched (the account keeps no copy there).
    removed_on_fetch: bool = False
