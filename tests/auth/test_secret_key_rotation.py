"""Rotating the key that encrypts mail-server passwords: every password stays usable, and an
interrupted rotation (new key beside the old, passwords re-encrypted or not) loses none."""

from __future__ import annotations

from pathlib import Path

import grpc
from cryptography.fernet import Fernet
from erpmail.server.app import ErpmailServer
from erpmail.server.auth.rotation import rotate_secret_key
from erpmail.server.config import Settings
from erpmail.server.core.db import Database
from erpmail.server.core.secrets import SecretBox, next_key_path
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc

from tests.support.accounts import account

PASSWORD = "incoming-secret-1"  # what tests.support.accounts.account() sets


def _settings(tmp_path: Path) -> Settings:
    return Settings(listen="127.0.0.1:0", data_dir=tmp_path / "data")


async def _create_account(settings: Settings) -> None:
    server = ErpmailServer(settings)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            await accounts_pb2_grpc.AccountServiceStub(channel).CreateAccount(
                pb.CreateAccountRequest(account=account()), timeout=10
            )
    finally:
        await server.stop(grace=0)


async def _stored_password(settings: Settings) -> str | None:
    server = ErpmailServer(settings)
    await server.start()
    try:
        return (await server.accounts.passwords("support")).incoming
    finally:
        await server.stop(grace=0)


async def _rotate(settings: Settings) -> int:
    db = Database(settings.database_path)
    await db.open()
    try:
        return await rotate_secret_key(db, settings.key_path)
    finally:
        await db.close()


async def test_rotation_replaces_the_key_and_passwords_stay_usable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await _create_account(settings)
    old_key = settings.key_path.read_bytes()

    assert await _rotate(settings) == 1

    assert settings.key_path.read_bytes() != old_key
    assert not next_key_path(settings.key_path).exists()
    assert await _stored_password(settings) == PASSWORD


async def test_a_rotation_interrupted_after_re_encrypting_loses_no_password(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    await _create_account(settings)
    old_key = settings.key_path.read_bytes().strip()
    new_key = Fernet.generate_key()
    next_key_path(settings.key_path).write_bytes(new_key)
    # The state a crash between the commit and the rename leaves: passwords under the new key.
    db = Database(settings.database_path)
    await db.open()
    async with db.write() as conn:
        await conn.execute(
            "UPDATE account_secrets SET ciphertext = ?",
            (SecretBox(new_key).encrypt(SecretBox(old_key).decrypt(await _one(db))),),
        )
    await db.close()

    assert await _stored_password(settings) == PASSWORD  # a server reads with both keys
    await _rotate(settings)  # finishes with the key already beside the old one
    assert settings.key_path.read_bytes().strip() == new_key
    assert await _stored_password(settings) == PASSWORD


async def test_a_rotation_interrupted_before_re_encrypting_loses_no_password(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    await _create_account(settings)
    next_key_path(settings.key_path).write_bytes(Fernet.generate_key())

    assert await _stored_password(settings) == PASSWORD
    await _rotate(settings)
    assert await _stored_password(settings) == PASSWORD


async def _one(db: Database) -> bytes:
    row = await db.fetch_one("SELECT ciphertext FROM account_secrets")
    assert row is not None
    return bytes(row["ciphertext"])
