"""Rotation of the key that encrypts mail-server passwords, safe against a crash at any point.

1. The new key is written (temp file, fsync, rename) to the side path `secret.key.next`.
2. Every stored password is re-encrypted with it in one transaction.
3. The side file is renamed over the key file.
Until 3, the server reads with both keys (core/secrets.py). A rotation that finds a side key
left by an interrupted one finishes with that key instead of making another.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from erpmail.server.core.db import Database
from erpmail.server.core.secrets import SecretBox, next_key_path


async def rotate_secret_key(db: Database, key_path: Path) -> int:
    """Re-encrypts every stored password with a new key; returns how many. The database must
    be open and no server running on it (its key would be the old one)."""
    old, new = _keys(key_path)
    reading = SecretBox(old, new)
    writing = SecretBox(new)
    async with db.write() as conn:
        async with conn.execute("SELECT rowid, ciphertext FROM account_secrets") as cursor:
            rows = list(await cursor.fetchall())
        for row in rows:
            plain = reading.decrypt(row["ciphertext"])
            await conn.execute(
                "UPDATE account_secrets SET ciphertext = ? WHERE rowid = ?",
                (writing.encrypt(plain), row["rowid"]),
            )
    os.replace(next_key_path(key_path), key_path)
    _fsync_dir(key_path.parent)
    return len(rows)


def _keys(key_path: Path) -> tuple[bytes, bytes]:
    """The current key, and the new one: on disk at the side path before anything uses it."""
    old = key_path.read_bytes().strip()
    side = next_key_path(key_path)
    if side.exists():
        return old, side.read_bytes().strip()
    new = Fernet.generate_key()
    _write_durably(side, new)
    return old, new


def _write_durably(path: Path, key: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
