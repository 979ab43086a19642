"""Where the one row of preferences is kept."""

from __future__ import annotations

from collections.abc import Callable

from erpmail.server.accounts.store import DeletionGuard
from erpmail.server.core import serde
from erpmail.server.core.db import Database
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.preferences.models import Preferences
from erpmail.server.templates.models import check_welcome_template
from erpmail.server.templates.store import read_in

WELCOME_FIELD = "preferences.system_templates.new_user_welcome_template_id"

# The default account cannot be deleted while the preferences name it.
DEFAULT_ACCOUNT_GUARD = DeletionGuard(
    kind="DEFAULT_ACCOUNT",
    query="SELECT 1 FROM preferences WHERE default_account_id = ?",
    description="the account is the default email account; choose another default first",
)


class PreferencesStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self) -> Preferences:
        row = await self._db.fetch_one("SELECT settings FROM preferences WHERE id = 1")
        return serde.loads(Preferences, row["settings"]) if row else Preferences()

    async def update(self, change: Callable[[Preferences], Preferences]) -> Preferences:
        """Applies `change` to the stored preferences inside one transaction."""
        async with self._db.write() as conn:
            async with conn.execute("SELECT settings FROM preferences WHERE id = 1") as cursor:
                row = await cursor.fetchone()
            current = serde.loads(Preferences, row[0]) if row else Preferences()
            preferences = change(current)
            if preferences.default_account_id:
                async with conn.execute(
                    "SELECT 1 FROM accounts WHERE account_id = ?",
                    (preferences.default_account_id,),
                ) as cursor:
                    if await cursor.fetchone() is None:
                        raise InvalidArgument.of(
                            "preferences.default_account_id", "names no existing account"
                        )
            welcome = preferences.system_templates.new_user_welcome_template_id
            # Checked when it changes: the template store keeps a named one within the rule.
            if welcome and welcome != current.system_templates.new_user_welcome_template_id:
                template = await read_in(conn, welcome)
                if template is None:
                    raise InvalidArgument.of(WELCOME_FIELD, f"names no template {welcome!r}")
                check_welcome_template(template, WELCOME_FIELD)
            await conn.execute(
                "UPDATE preferences SET default_account_id = ?, settings = ? WHERE id = 1",
                (preferences.default_account_id or None, serde.dumps(preferences)),
            )
        return preferences
