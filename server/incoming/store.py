"""Where received mail and the receive cursors are kept.

A batch of fetched messages and the cursor that follows it (IMAP folder UID, POP3 UIDLs) are
written in one transaction: a run that dies mid-way fetches again exactly what was not stored.
The unique (account, Message-ID) index is the backstop that keeps a resynchronised folder from
storing a message twice.

An email received for an account that processes incoming mail is matched to its thread (see
threading.py) in the same transaction, before it is written: it takes the thread's related entity
and owners, and records which email it threads to.

`save` hands back the emails it stored for the first time, with their ids: processing (see
processor.py) acts on those only, so an email fetched again is never processed twice.
`thread_history` and `thread_summary` read what processing needs of a thread and
`finish_processing` records the outcome, with the requests to the ERP, in one transaction.
`pending` hands back, in the same shape, the emails a run stored but died before finishing, so
the next receive processes them (everything processing sends is idempotent by request id).

Each email keeps where its message lies on the server (IMAP folder and UID, or POP3 UIDL).
Processing marks it due for deletion there when the account says so; the account's next receive
session deletes what is due (`due_deletions`, `deleted_on_server`), so a deletion that could not
be done at once is done later, and never before the email is stored and processed.

A delivery status notification stored for the first time marks the recipients it reports failed
on the outgoing email it is about, in the same transaction: a batch fetched again stores nothing
new, so no bounce is ever applied twice.

IncomingStore is put together from parts in storage/, one a concern: receipts.py (the cursors
and the last receive), saving.py (storing a fetched batch, with its bounces), threads.py
(threading on save, reading a thread), pending.py (reading the emails to process), processing.py
(reopening and finishing processing) and deletions.py (deletions due on the server).
"""

from __future__ import annotations

from erpmail.server.incoming.storage.deletions import ServerDeletionStore
from erpmail.server.incoming.storage.pending import PendingEmailStore
from erpmail.server.incoming.storage.processing import ProcessingStore
from erpmail.server.incoming.storage.receipts import ReceiptStore
from erpmail.server.incoming.storage.records import (
    IncomingEmail,
    ProcessingOutcome,
    ServerLocation,
)
from erpmail.server.incoming.storage.saving import ReceivedEmailStore
from erpmail.server.incoming.storage.threads import ThreadStore

__all__ = ["IncomingEmail", "IncomingStore", "ProcessingOutcome", "ServerLocation"]


class IncomingStore(
    ReceiptStore,
    ReceivedEmailStore,
    ThreadStore,
    PendingEmailStore,
    ProcessingStore,
    ServerDeletionStore,
):
    """Received mail and the receive cursors: every part in storage/ in one store, so that the
    receiver, the processor and the servicer each hold one."""
