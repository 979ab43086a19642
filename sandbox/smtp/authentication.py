"""AUTH for the sandbox's SMTP sessions: PLAIN, LOGIN and XOAUTH2 checked against the MailStore.

The methods are named auth_<MECHANISM>: aiosmtpd advertises and dispatches them, and these replace
its built-in PLAIN and LOGIN (which answer some errors twice and cannot see the account for
faults). A fault rule at smtp.auth sees the account being logged in to.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable
from typing import TypeVar

from aiosmtpd.smtp import SMTP, AuthResult
from erpmail.sandbox.faults import Stage
from erpmail.sandbox.smtp import replies
from erpmail.sandbox.smtp.sasl import (
    AuthDecodeError,
    Credentials,
    decode_base64,
    parse_plain,
    parse_xoauth2,
    xoauth2_error_challenge,
)
from erpmail.sandbox.smtp.settings import SmtpSettings

T = TypeVar("T")
_HANDLED = AuthResult(success=False, handled=True)  # the error reply was sent already


class SaslMechanisms(SMTP):
    settings: SmtpSettings
    credentials: Credentials | None = None  # once logged in

    async def _interfere(
        self, stage: Stage, *, sender: str = "", recipient: str = "", account: str | None = None
    ) -> str | None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    async def auth_PLAIN(self, _: SMTP, args: list[str]) -> AuthResult:
        blob = args[1] if len(args) > 1 else await self._challenge(b"")
        credentials = await self._decode(blob, lambda b: parse_plain(decode_base64(b)))
        return await self._verify(credentials)

    async def auth_LOGIN(self, _: SMTP, args: list[str]) -> AuthResult:
        if len(args) > 1:
            user_blob: str | bytes | None = args[1]
        else:
            user_blob = await self._challenge(replies.LOGIN_USERNAME_CHALLENGE)
        user = await self._decode(user_blob, lambda b: _text(decode_base64(b)))
        if user is None:
            return _HANDLED
        password_blob = await self._challenge(replies.LOGIN_PASSWORD_CHALLENGE)
        password = await self._decode(password_blob, lambda b: _text(decode_base64(b)))
        if password is None:
            return _HANDLED
        return await self._verify(Credentials("LOGIN", user, password))

    async def auth_XOAUTH2(self, _: SMTP, args: list[str]) -> AuthResult:
        blob = args[1] if len(args) > 1 else await self._challenge(b"")
        credentials = await self._decode(blob, lambda b: parse_xoauth2(decode_base64(b)))
        return await self._verify(credentials)

    async def _challenge(self, challenge: bytes) -> bytes | None:
        """Sends a 334 challenge and reads the answer; None once an error reply has been sent."""
        await self.push(f"334 {base64.b64encode(challenge).decode()}")
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as error:
            await self._discard_rest_of_line(error.consumed)
            await self.push(replies.AUTH_LINE_TOO_LONG)
            return None
        except asyncio.IncompleteReadError:
            self._close()
            return None
        answer = line.strip()
        if answer == b"*":
            await self.push(replies.AUTH_ABORTED)
            return None
        return answer

    async def _discard_rest_of_line(self, consumed: int) -> None:
        await self._reader.read(consumed)
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as error:
                await self._reader.read(error.consumed)

    async def _decode(
        self, blob: str | bytes | None, parse: Callable[[str | bytes], T]
    ) -> T | None:
        if blob is None:
            return None
        try:
            return parse(blob)
        except AuthDecodeError as error:
            await self.push(
                replies.AUTH_BAD_BASE64 if error.bad_base64 else replies.AUTH_BAD_FORMAT
            )
            return None

    async def _verify(self, credentials: Credentials | None) -> AuthResult:
        if credentials is None:
            return _HANDLED
        refusal = await self._interfere(Stage.SMTP_AUTH, account=credentials.username)
        if refusal is not None:
            return (
                AuthResult(success=False, handled=False, message=refusal) if refusal else _HANDLED
            )
        store = self.settings.store
        if credentials.mechanism == "XOAUTH2":
            mailbox = store.authenticate_token(credentials.username, credentials.secret)
        else:
            mailbox = store.authenticate(credentials.username, credentials.secret)
        if mailbox is None:
            if credentials.mechanism == "XOAUTH2":
                # As providers do: the error as a challenge, the failure after the client's reply.
                await self.push(f"334 {xoauth2_error_challenge().decode()}")
                with contextlib.suppress(asyncio.LimitOverrunError, asyncio.IncompleteReadError):
                    await self._reader.readuntil(b"\n")
            return AuthResult(success=False, handled=False, message=replies.AUTH_INVALID)
        self.credentials = credentials
        return AuthResult(
            success=True, auth_data=credentials.username, message=replies.AUTH_SUCCESSFUL
        )


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")
