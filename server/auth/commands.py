"""`erpmail keys create|list|revoke` and `erpmail rotate-secret-key`: run on the server machine,
straight against the database (opened, and migrated, as the server opens it)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from erpmail.server.auth.models import NewKey, validate
from erpmail.server.auth.rotation import rotate_secret_key
from erpmail.server.auth.store import ApiKeyStore
from erpmail.server.config import DEFAULT_DATA_DIR, Settings, env_default
from erpmail.server.core.context import Role
from erpmail.server.core.datadir import DataDirInUse, DataDirLock
from erpmail.server.core.db import Database
from erpmail.server.core.errors import DomainError

Run = Callable[[argparse.Namespace], Coroutine[Any, Any, None]]
# What the CLI records as the creator of a key made on the server machine.
CLI_ACTOR = "erpmail-cli"


class CommandError(Exception):
    """A refused command; its message is meant for the person at the terminal."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)

    create = actions.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--user-id", default="", help="the employee a user key acts as")
    _data_arguments(create)
    create.set_defaults(run=_create)

    listing = actions.add_parser("list", help="list keys (never their secrets)")
    _data_arguments(listing)
    listing.set_defaults(run=_list)

    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    _data_arguments(revoke)
    revoke.set_defaults(run=_revoke)

    rotate = commands.add_parser(
        "rotate-secret-key",
        help="re-encrypt every mail-server password with a new key (stop the server first)",
    )
    _data_arguments(rotate)
    rotate.set_defaults(run=_rotate)


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env_default("DATA_DIR", DEFAULT_DATA_DIR)),
        help="folder of the database (ERPMAIL_DATA_DIR, default %(default)s)",
    )
    parser.add_argument(
        "--secret-key-file",
        type=Path,
        default=Path(v) if (v := env_default("SECRET_KEY_FILE", "")) else None,
        help="(ERPMAIL_SECRET_KEY_FILE, default DATA_DIR/secret.key)",
    )


@asynccontextmanager
async def _database(args: argparse.Namespace) -> AsyncIterator[Database]:
    db = Database(Settings(data_dir=args.data_dir).database_path)
    await db.open()
    try:
        yield db
    finally:
        await db.close()


async def _create(args: argparse.Namespace) -> None:
    role = Role(args.role)
    try:
        validate(NewKey(args.name, role, args.user_id), "key")
    except DomainError as error:
        raise CommandError(str(error)) from None
    async with _database(args) as db:
        key, secret = await ApiKeyStore(db).create(
            args.name, role, args.user_id, CLI_ACTOR, datetime.now(UTC)
        )
    print(f"key_id: {key.key_id}")
    print(f"secret: {secret}")
    print("The secret is shown only now: store it where the caller keeps its secrets.")


async def _list(args: argparse.Namespace) -> None:
    async with _database(args) as db:
        store, after = ApiKeyStore(db), ""
        while page := await store.page(after, 500):
            for key in page:
                state = f"revoked {key.revoked_time.isoformat()}" if key.revoked_time else "active"
                user = f" user={key.user_id}" if key.user_id else ""
                print(f"{key.key_id}  {key.role.value:<7}  {key.name}{user}  {state}")
            after = page[-1].key_id


async def _revoke(args: argparse.Namespace) -> None:
    async with _database(args) as db:
        try:
            key = await ApiKeyStore(db).revoke(args.key_id, datetime.now(UTC))
        except DomainError as error:
            raise CommandError(str(error)) from None
    print(f"revoked {key.key_id}")


async def _rotate(args: argparse.Namespace) -> None:
    settings = Settings(data_dir=args.data_dir, secret_key_file=args.secret_key_file)
    if not settings.key_path.exists():
        raise CommandError(f"no secret key at {settings.key_path}")
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirInUse as error:
        raise CommandError(f"{error}: stop the server before rotating the key") from None
    try:
        async with _database(args) as db:
            count = await rotate_secret_key(db, settings.key_path)
    finally:
        lock.release()
    print(f"secret key rotated; {count} stored passwords re-encrypted")
