"""Where mailing settings and party document preferences are kept.

What a setting names (its template, account and employees) is checked inside the transaction
that writes it, so that the check and the write see the same data.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import aiosqlite
from erpmail.server.accounts.store import DeletionGuard
from erpmail.server.core.db import Database
from erpmail.server.core.errors import AlreadyExists, NotFound, Violations
from erpmail.server.directory.store import EMPLOYEE, DirectoryUse
from erpmail.server.documents.models import (
    Delivery,
    MailingRecipient,
    MailingSetting,
    Party,
    PartyKind,
    PartyPreference,
    RecipientSource,
)
from erpmail.server.outgoing.models import RecipientKind
from erpmail.server.templates.store import TemplateUse

RESOURCE = "mailing setting"
# The field requests carry a setting in; reference problems are named under it.
FIELD = "mailing_setting"

# Registered with the templates: a template a mailing setting sends with is not deleted under it.
MAILING_SETTING_TEMPLATE_USE = TemplateUse(
    "SELECT 'mailing_settings/' || setting_id, 'template_id' FROM mailing_settings"
    " WHERE template_id = :template_id ORDER BY setting_id LIMIT 1"
)

# Registered with the accounts: an account a setting sends from is not deleted under it.
MAILING_SETTING_ACCOUNT_GUARD = DeletionGuard(
    kind="MAILING_SETTING_ACCOUNT",
    query="SELECT 1 FROM mailing_settings WHERE account_id = ? LIMIT 1",
    description="mailing settings send documents from the account; give them another first",
)

# Registered with the directory: an employee a setting sends documents to is not deleted under it.
MAILING_SETTING_EMPLOYEE_USE = DirectoryUse(
    EMPLOYEE,
    "SELECT 'mailing_settings/' || s.setting_id, 'recipients[' || r.key || '].employee_id'"
    " FROM mailing_settings s, json_each(s.recipients) r"
    f" WHERE json_extract(r.value, '$.source') = '{RecipientSource.EMPLOYEE.value}'"
    " AND json_extract(r.value, '$.value') = :id ORDER BY s.setting_id, r.key",
)


class DocumentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # Mailing settings

    async def create(self, setting: MailingSetting, now: datetime) -> MailingSetting:
        async with self._db.write() as conn:
            await _check_references(conn, setting)
            try:
                cursor = await conn.execute(
                    "INSERT INTO mailing_settings (party_kind, business_account_id,"
                    " document_type, active, recipients, template_id, account_id, create_time,"
                    " update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*_key(setting), *_values(setting), now.isoformat(), now.isoformat()),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    RESOURCE,
                    f"{setting.party.name}/{setting.document_type}",
                    f"{FIELD}.document_type",
                ) from None
            setting_id = cursor.lastrowid
        assert setting_id is not None
        return await self.get(setting_id)

    async def get(self, setting_id: int) -> MailingSetting:
        """The setting with this id; NotFound when there is none."""
        row = await self._db.fetch_one(_SELECT + " WHERE setting_id = ?", (setting_id,))
        if row is None:
            raise NotFound(RESOURCE, str(setting_id))
        return _setting(row)

    async def find(self, party: Party, document_type: str) -> MailingSetting | None:
        """The party's setting for the document type, if it has one."""
        row = await self._db.fetch_one(
            _SELECT + " WHERE party_kind = ? AND business_account_id = ? AND document_type = ?",
            (_kind(party), party.business_account_id, document_type),
        )
        return _setting(row) if row is not None else None

    async def page(
        self,
        after: Sequence[str] | None,
        limit: int,
        kind: PartyKind | None = None,
        business_account_id: str = "",
        document_type: str = "",
    ) -> list[MailingSetting]:
        """Settings ordered by party kind, business account and document type, after `after`
        (those three of the last setting of the previous page), matching the filters given."""
        where, params = _filters(
            ("party_kind", kind.value if kind else ""),
            ("business_account_id", business_account_id),
            ("document_type", document_type),
        )
        if after is not None:
            where.append("(party_kind, business_account_id, document_type) > (?, ?, ?)")
            params += after
        rows = await self._db.fetch_all(
            f"{_SELECT} {_where(where)}"
            " ORDER BY party_kind, business_account_id, document_type LIMIT ?",
            (*params, limit),
        )
        return [_setting(row) for row in rows]

    async def update(
        self, setting_id: int, edit: Callable[[MailingSetting], MailingSetting], now: datetime
    ) -> MailingSetting:
        """Applies `edit` to the stored setting inside one transaction (no lost updates)."""
        async with self._db.write() as conn:
            async with conn.execute(_SELECT + " WHERE setting_id = ?", (setting_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(RESOURCE, str(setting_id))
            changed = edit(_setting(row))
            await _check_references(conn, changed)
            # The party and document type are the setting's identity: they never change.
            await conn.execute(
                "UPDATE mailing_settings SET active = ?, recipients = ?, template_id = ?,"
                " account_id = ?, update_time = ? WHERE setting_id = ?",
                (*_values(changed), now.isoformat(), setting_id),
            )
        return await self.get(setting_id)

    async def delete(self, setting_id: int) -> None:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM mailing_settings WHERE setting_id = ?", (setting_id,)
            )
            if cursor.rowcount == 0:
                raise NotFound(RESOURCE, str(setting_id))

    # Party preferences

    async def preference(self, party: Party) -> PartyPreference:
        """The party's preference; by email, with no update time, when never set."""
        row = await self._db.fetch_one(
            _SELECT_PREFERENCES + " WHERE party_kind = ? AND business_account_id = ?",
            (_kind(party), party.business_account_id),
        )
        return _preference(row) if row is not None else PartyPreference(party)

    async def set_preference(
        self, party: Party, edit: Callable[[PartyPreference], PartyPreference], now: datetime
    ) -> PartyPreference:
        """Applies `edit` to the party's preference (the default when never set) and stores it."""
        async with self._db.write() as conn:
            async with conn.execute(
                _SELECT_PREFERENCES + " WHERE party_kind = ? AND business_account_id = ?",
                (_kind(party), party.business_account_id),
            ) as cursor:
                row = await cursor.fetchone()
            current = _preference(row) if row is not None else PartyPreference(party)
            changed = edit(current)
            await conn.execute(
                "INSERT INTO party_document_preferences (party_kind, business_account_id,"
                " delivery, update_time) VALUES (?, ?, ?, ?) ON CONFLICT"
                " (party_kind, business_account_id) DO UPDATE SET delivery = excluded.delivery,"
                " update_time = excluded.update_time",
                (_kind(party), party.business_account_id, changed.delivery.value, now.isoformat()),
            )
        return await self.preference(party)

    async def preferences_page(
        self, after: Sequence[str] | None, limit: int, delivery: Delivery | None = None
    ) -> list[PartyPreference]:
        where, params = _filters(("delivery", delivery.value if delivery else ""))
        if after is not None:
            where.append("(party_kind, business_account_id) > (?, ?)")
            params += after
        rows = await self._db.fetch_all(
            f"{_SELECT_PREFERENCES} {_where(where)}"
            " ORDER BY party_kind, business_account_id LIMIT ?",
            (*params, limit),
        )
        return [_preference(row) for row in rows]


_SELECT = (
    "SELECT setting_id, party_kind, business_account_id, document_type, active, recipients,"
    " template_id, account_id, create_time, update_time FROM mailing_settings"
)
_SELECT_PREFERENCES = (
    "SELECT party_kind, business_account_id, delivery, update_time FROM party_document_preferences"
)


async def _check_references(conn: aiosqlite.Connection, setting: MailingSetting) -> None:
    """InvalidArgument naming the template, the account and each employee that do not exist."""
    v = Violations()
    async with conn.execute(
        "SELECT 1 FROM templates WHERE template_id = ?", (setting.template_id,)
    ) as cursor:
        if await cursor.fetchone() is None:
            v.add(f"{FIELD}.template_id", f"no template {setting.template_id!r}")
    if setting.account_id:
        async with conn.execute(
            "SELECT 1 FROM accounts WHERE account_id = ?", (setting.account_id,)
        ) as cursor:
            if await cursor.fetchone() is None:
                v.add(f"{FIELD}.account_id", f"no account {setting.account_id!r}")
    named = [r.value for r in setting.recipients if r.source is RecipientSource.EMPLOYEE]
    async with conn.execute(
        "SELECT employee_id FROM employees WHERE employee_id IN (SELECT value FROM json_each(?))",
        (json.dumps(named),),
    ) as cursor:
        known = {row[0] for row in await cursor.fetchall()}
    for i, r in enumerate(setting.recipients):
        if r.source is RecipientSource.EMPLOYEE and r.value not in known:
            v.add(f"{FIELD}.recipients[{i}].employee_id", "names no existing employee")
    v.raise_if_any()


def _filters(*pairs: tuple[str, str]) -> tuple[list[str], list[Any]]:
    """SQL conditions for the filters given (an empty value filters nothing)."""
    given = [(column, value) for column, value in pairs if value]
    return [f"{column} = ?" for column, _ in given], [value for _, value in given]


def _where(conditions: Sequence[str]) -> str:
    return "WHERE " + " AND ".join(conditions) if conditions else ""


def _kind(party: Party) -> str:
    # Validation refuses a party without a kind before anything reaches the store.
    assert party.kind is not None
    return party.kind.value


def _key(s: MailingSetting) -> tuple[Any, ...]:
    return (_kind(s.party), s.party.business_account_id, s.document_type)


def _values(s: MailingSetting) -> tuple[Any, ...]:
    recipients = [
        {"source": r.source.value, "value": r.value, "kind": r.kind.value, "name": r.display_name}
        for r in s.recipients
    ]
    return (s.active, json.dumps(recipients), s.template_id, s.account_id or None)


def _setting(row: aiosqlite.Row) -> MailingSetting:
    return MailingSetting(
        setting_id=row["setting_id"],
        party=Party(PartyKind(row["party_kind"]), row["business_account_id"]),
        document_type=row["document_type"],
        active=bool(row["active"]),
        recipients=[
            MailingRecipient(
                RecipientSource(r["source"]), r["value"], RecipientKind(r["kind"]), r["name"]
            )
            for r in json.loads(row["recipients"])
        ],
        template_id=row["template_id"],
        account_id=row["account_id"] or "",
        create_time=datetime.fromisoformat(row["create_time"]),
        update_time=datetime.fromisoformat(row["update_time"]),
    )


def _preference(row: aiosqlite.Row) -> PartyPreference:
    return PartyPreference(
        party=Party(PartyKind(row["party_kind"]), row["business_account_id"]),
        delivery=Delivery(row["delivery"]),
        update_time=datetime.fromisoformat(row["update_time"]),
    )
