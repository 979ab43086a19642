"""Where notification templates are kept; attachments in their own table, read only when needed.

Other features name templates (the preferences' system templates, an account's confirmation and
reply templates): a template one of them names is not deleted (`TemplateUse`), and the
new-user welcome template keeps its four place-holders while the preferences name it. Both are
checked in the writing transaction, so no change slips in between check and write.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite
from erpmail.server.accounts.store import DeletionGuard
from erpmail.server.core.db import Database
from erpmail.server.core.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from erpmail.server.templates.models import (
    Template,
    TemplateAttachment,
    check_welcome_template,
    slug,
)

RESOURCE = "template"
IN_USE = "TEMPLATE_IN_USE"
WELCOME = "WELCOME_TEMPLATE"


@dataclass(frozen=True)
class TemplateUse:
    """Something that names templates, so that a template it names is not deleted.

    `query` finds the first that names the template bound as :template_id, as rows of (the
    resource, the field naming the template): ("accounts/support",
    "processing.reply_template_id"). Other features pass theirs to TemplateStore.
    """

    query: str


PREFERENCES_USE = TemplateUse(
    "SELECT 'preferences', 'system_templates.' || t.key FROM preferences p,"
    " json_each(p.settings, '$.system_templates') t"
    " WHERE p.id = 1 AND t.value = :template_id ORDER BY t.key LIMIT 1"
)
ACCOUNT_USE = TemplateUse(
    "SELECT 'accounts/' || account_id, CASE :template_id"
    " WHEN json_extract(settings, '$.processing.confirmation_template_id')"
    " THEN 'processing.confirmation_template_id' ELSE 'processing.reply_template_id' END"
    " FROM accounts"
    " WHERE json_extract(settings, '$.processing.confirmation_template_id') = :template_id"
    " OR json_extract(settings, '$.processing.reply_template_id') = :template_id"
    " ORDER BY account_id LIMIT 1"
)

# Registered with the accounts: an account a template sends from is not deleted under it.
TEMPLATE_ACCOUNT_GUARD = DeletionGuard(
    kind="TEMPLATE_ACCOUNT",
    query="SELECT 1 FROM templates WHERE from_account_id = ? LIMIT 1",
    description="templates send from the account; give them another account first",
)


class TemplateStore:
    def __init__(self, db: Database, uses: Sequence[TemplateUse] = ()) -> None:
        self._db = db
        self._uses = (PREFERENCES_USE, ACCOUNT_USE, *uses)

    async def create(self, template: Template, now: datetime, field: str = "template") -> Template:
        """Stores a new template, making its ID from the description when it has none."""
        async with self._db.write() as conn:
            await _check_account(conn, template.from_account_id, field)
            template_id = template.template_id or await _free_id(conn, slug(template.description))
            try:
                await conn.execute(_INSERT, _row(template, template_id, now, now))
            except sqlite3.IntegrityError:
                raise AlreadyExists(RESOURCE, template_id, f"{field}.template_id") from None
            await _write_attachments(conn, template_id, template.attachments)
        return await self.get(template_id)

    async def get(self, template_id: str) -> Template:
        """The template with its attachments' content; NotFound when there is none."""
        row = await self._db.fetch_one(_SELECT + " WHERE template_id = ?", (template_id,))
        if row is None:
            raise NotFound(RESOURCE, template_id)
        attachments = await self._db.fetch_all(
            "SELECT file_name, content_type, content FROM template_attachments"
            " WHERE template_id = ? ORDER BY position",
            (template_id,),
        )
        return _template(
            row,
            [TemplateAttachment.of(a[0], a[1], bytes(a[2])) for a in attachments],
        )

    async def page(self, after: str, limit: int) -> list[Template]:
        """Templates ordered by ID, attachments with their sizes but without their content."""
        rows = await self._db.fetch_all(
            _SELECT + " WHERE template_id > ? ORDER BY template_id LIMIT ?", (after, limit)
        )
        ids = [row["template_id"] for row in rows]
        attachments: dict[str, list[TemplateAttachment]] = {i: [] for i in ids}
        for a in await self._db.fetch_all(
            "SELECT template_id, file_name, content_type, length(content) FROM"
            " template_attachments WHERE template_id IN (SELECT value FROM json_each(?))"
            " ORDER BY template_id, position",
            (json.dumps(ids),),
        ):
            attachments[a[0]].append(TemplateAttachment(a[1], a[2], b"", a[3]))
        return [_template(row, attachments[row["template_id"]]) for row in rows]

    async def update(
        self,
        template_id: str,
        edit: Callable[[Template], Template],
        now: datetime,
        field: str = "template",
    ) -> Template:
        """Applies `edit` to the stored template inside one transaction (no lost updates)."""
        async with self._db.write() as conn:
            current = await read_in(conn, template_id)
            if current is None:
                raise NotFound(RESOURCE, template_id)
            changed = edit(current)
            await _check_account(conn, changed.from_account_id, field)
            await _check_welcome(conn, changed)
            row_values = _row(changed, template_id, current.create_time or now, now)
            await conn.execute(_UPDATE, (*row_values[1:], template_id))
            if changed.attachments != current.attachments:
                await conn.execute(
                    "DELETE FROM template_attachments WHERE template_id = ?", (template_id,)
                )
                await _write_attachments(conn, template_id, changed.attachments)
        return await self.get(template_id)

    async def delete(self, template_id: str) -> None:
        """Deletes the template; FailedPrecondition while the preferences, an account or another
        feature's settings name it."""
        async with self._db.write() as conn:
            for use in self._uses:
                async with conn.execute(use.query, {"template_id": template_id}) as cursor:
                    user = await cursor.fetchone()
                if user is not None:
                    raise FailedPrecondition(
                        IN_USE,
                        user[0],
                        f"{user[0]} names this template in {user[1]}; name another template"
                        " there first",
                    )
            cursor = await conn.execute(
                "DELETE FROM templates WHERE template_id = ?", (template_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(RESOURCE, template_id)


_COLUMNS = (
    "template_id, description, from_account_id, to_field, cc_field, bcc_field, subject,"
    " text_body, html_body, locale, data_source, known_fields, create_time, update_time"
)
_SELECT = f"SELECT {_COLUMNS} FROM templates"
_INSERT = f"INSERT INTO templates ({_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_UPDATE = (
    "UPDATE templates SET description = ?, from_account_id = ?, to_field = ?, cc_field = ?,"
    " bcc_field = ?, subject = ?, text_body = ?, html_body = ?, locale = ?, data_source = ?,"
    " known_fields = ?, create_time = ?, update_time = ? WHERE template_id = ?"
)


async def _check_account(conn: aiosqlite.Connection, account_id: str, field: str) -> None:
    # Checked in the writing transaction: the account cannot go between check and write.
    if not account_id:
        return
    async with conn.execute("SELECT 1 FROM accounts WHERE account_id = ?", (account_id,)) as c:
        if await c.fetchone() is None:
            raise InvalidArgument.of(f"{field}.from_account_id", f"no account {account_id!r}")


async def _free_id(conn: aiosqlite.Connection, base: str) -> str:
    """`base`, or `base-N` with the smallest N from 2 that no template has."""
    pattern = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
    async with conn.execute(
        "SELECT template_id FROM templates WHERE template_id = ? OR template_id LIKE ? ESCAPE '\\'",
        (base, pattern),
    ) as cursor:
        taken = {row[0] for row in await cursor.fetchall()}
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def _check_welcome(conn: aiosqlite.Connection, template: Template) -> None:
    """While the preferences name the template as the new-user welcome template, it keeps the
    place-holders that rule asks for."""
    async with conn.execute(
        "SELECT 1 FROM preferences WHERE id = 1 AND"
        " json_extract(settings, '$.system_templates.new_user_welcome_template_id') = ?",
        (template.template_id,),
    ) as cursor:
        if await cursor.fetchone() is None:
            return
    try:
        check_welcome_template(template, "template")
    except InvalidArgument as error:
        raise FailedPrecondition(
            WELCOME,
            "preferences",
            "the preferences name this template as the new-user welcome template (system_templates"
            f".new_user_welcome_template_id): {error.violations[0].description}",
        ) from None


async def read_in(conn: aiosqlite.Connection, template_id: str) -> Template | None:
    """The template with its attachments, read in the caller's transaction; None when there is
    none (the preferences check their welcome template this way)."""
    async with conn.execute(_SELECT + " WHERE template_id = ?", (template_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    async with conn.execute(
        "SELECT file_name, content_type, content FROM template_attachments"
        " WHERE template_id = ? ORDER BY position",
        (template_id,),
    ) as cursor:
        found = await cursor.fetchall()
    return _template(row, [TemplateAttachment.of(a[0], a[1], bytes(a[2])) for a in found])


async def _write_attachments(
    conn: aiosqlite.Connection, template_id: str, attachments: list[TemplateAttachment]
) -> None:
    await conn.executemany(
        "INSERT INTO template_attachments (template_id, position, file_name, content_type,"
        " content) VALUES (?, ?, ?, ?, ?)",
        [
            (template_id, i, a.file_name, a.content_type, a.content)
            for i, a in enumerate(attachments)
        ],
    )


def _row(t: Template, template_id: str, created: datetime, now: datetime) -> tuple[Any, ...]:
    return (
        template_id,
        t.description,
        t.from_account_id or None,
        t.to,
        t.cc,
        t.bcc,
        t.subject,
        t.text_body,
        t.html_body,
        t.locale,
        t.data_source,
        json.dumps(t.known_fields),
        created.isoformat(),
        now.isoformat(),
    )


def _template(row: aiosqlite.Row, attachments: list[TemplateAttachment]) -> Template:
    return Template(
        template_id=row["template_id"],
        description=row["description"],
        from_account_id=row["from_account_id"] or "",
        to=row["to_field"],
        cc=row["cc_field"],
        bcc=row["bcc_field"],
        subject=row["subject"],
        text_body=row["text_body"],
        html_body=row["html_body"],
        attachments=attachments,
        locale=row["locale"],
        data_source=row["data_source"],
        known_fields=list(json.loads(row["known_fields"])),
        create_time=datetime.fromisoformat(row["create_time"]),
        update_time=datetime.fromisoformat(row["update_time"]),
    )
