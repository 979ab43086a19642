"""The search index follows the stored email: email created through EmailService or received,
a draft's edit (its old words are no longer found), and a purge; email stored before search
existed is indexed by the migration, its HTML by its text from the next start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.server.core import serde
from erpmail.server.core.db import migration_scripts
from erpmail.server.outgoing.models import Address, Content, Status
from erpmail.v1 import emails_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.mailbox.views_support import SALES, mailbox

SEARCH_MIGRATION = 18


async def test_email_created_through_the_email_service_is_found(tmp_path: Path) -> None:
    async with mailbox(tmp_path) as box:
        await box.emails.CreateEmail(
            pb.CreateEmailRequest(
                email=pb.Email(
                    account_id=SALES,
                    to=[pb.Address(address="buyer@shop.test", name="Ola Nordmann")],
                    subject="Order confirmation",
                    html_body="<p>Thank you for <i>ordering</i></p>",
                )
            )
        )
        assert await box.listed(query="ordering nordmann") == ["Order confirmation"]
        assert await box.listed(query="sales@example.com") == ["Order confirmation"]


async def test_an_edited_draft_is_found_by_its_new_words_only(tmp_path: Path) -> None:
    async with mailbox(tmp_path) as box:
        email_id = await box.sent("Draft", status=Status.DRAFT, text="first version")
        await box.emails.UpdateEmail(
            pb.UpdateEmailRequest(
                email=pb.Email(
                    email_id=email_id,
                    text_body="second version",
                    cc=[pb.Address(address="auditor@firm.test")],
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["text_body", "cc"]),
            )
        )
        assert await box.listed(query="first") == []
        assert await box.listed(query="second auditor@firm.test") == ["Draft"]


async def test_a_purged_email_leaves_the_index(tmp_path: Path) -> None:
    async with mailbox(tmp_path) as box:
        await box.received("Spam offer", text="cheap watches")
        await box.delete("Spam offer")
        await box.emails.PurgeEmails(pb.PurgeEmailsRequest(email_ids=box.of("Spam offer")))
        rows = await box.server.db.fetch_all(
            "SELECT rowid FROM email_search WHERE email_search MATCH 'watches'"
        )
    assert rows == []


async def test_email_stored_before_search_existed_is_found_by_its_text(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _database_before_search(data / "erpmail.sqlite3")
    server = ErpmailServer(Settings(listen="127.0.0.1:0", data_dir=data))
    await server.start()

    async def search(query: str) -> list[int]:
        rows = await server.db.fetch_all(
            "SELECT rowid FROM email_search WHERE email_search MATCH ?", (query,)
        )
        return [r[0] for r in rows]

    try:
        assert await search('"pricing"') == [1]
        assert await search('"span"') == []  # the HTML's tags, indexed again at start without them
        assert await search('"old" AND "buyer"') == [1]  # subject and To address
        assert await search('"hello"') == [2]
        assert await search('"sender@shop" "test"') == [2]
    finally:
        await server.stop(grace=0)


def _database_before_search(path: Path) -> None:
    """A database as erpmail left it before the search migration, with a sent email (HTML body)
    and a received one."""
    with sqlite3.connect(path) as db:
        for version, _, sql in migration_scripts():
            if version < SEARCH_MIGRATION:
                db.executescript(sql)
        db.execute(f"PRAGMA user_version = {SEARCH_MIGRATION - 1}")
        db.execute(
            "INSERT INTO accounts (account_id, email_address, settings, create_time, update_time)"
            " VALUES ('old', 'old@example.com', '{}', '2025-01-01T00:00:00+00:00',"
            " '2025-01-01T00:00:00+00:00')"
        )
        sent = Content(
            to=[Address("buyer@shop.test")],
            subject="Old offer",
            html_body='<p><span class="x">New pricing</span></p>',
        )
        received = Content(to=[Address("old@example.com")], subject="Hi", text_body="Hello")
        for email_id, direction, content, sender in (
            (1, "outgoing", sent, ""),
            (2, "incoming", received, "sender@shop.test"),
        ):
            db.execute(
                "INSERT INTO emails (id, account_id, direction, status, message_id,"
                " tracking_tag, content, created_by, create_time, update_time, from_address)"
                " VALUES (?, 'old', ?, 'processed', ?, '', ?, 'system',"
                " '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00', ?)",
                (email_id, direction, f"<{email_id}@old>", serde.dumps(content), sender),
            )
            for position, a in enumerate(content.to):
                db.execute(
                    "INSERT INTO email_recipients (email_id, position, kind, address, name,"
                    " status) VALUES (?, ?, 'to', ?, '', 'accepted')",
                    (email_id, position, a.address),
                )
