"""Encryption of mail-server passwords at rest.

The key is a Fernet key kept in its own file (by default `secret.key` in the data folder, mode
0600), never in the database: a copy of the database alone does not reveal any password.

`erpmail rotate-secret-key` writes the new key beside the old one (`secret.key.next`) before
re-encrypting, and renames it over the old one after: a server started in between reads with
both keys, so no crash leaves a password encrypted with a key that is not on disk.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def next_key_path(path: Path) -> Path:
    """Where a rotation keeps the new key until every password is encrypted with it."""
    return path.with_name(path.name + ".next")


class SecretBox:
    def __init__(self, key: bytes, *also_decrypting: bytes) -> None:
        # Encrypts with `key`; decrypts with any of the keys.
        self._fernet = MultiFernet([Fernet(k) for k in (key, *also_decrypting)])

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """Reads the key, creating it (readable by the owner only) on first start."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        side = next_key_path(path)
        others = [side.read_bytes().strip()] if side.exists() else []
        return cls(path.read_bytes().strip(), *others)

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise SecretKeyMismatch() from None


class SecretKeyMismatch(Exception):
    def __init__(self) -> None:
        super().__init__("a stored password cannot be decrypted with this server's secret key")
