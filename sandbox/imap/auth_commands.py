"""Commands of any state and of the not-authenticated state: CAPABILITY .. AUTHENTICATE."""

from __future__ import annotations

import base64
import binascii

from erpmail.sandbox.faults import Stage
from erpmail.sandbox.imap import encode, replies
from erpmail.sandbox.imap.arguments import arity, astring
from erpmail.sandbox.imap.core import SessionCore, State, bad, completed, no
from erpmail.sandbox.imap.syntax import Atom, Command, Group
from erpmail.sandbox.store import Mailbox

SASL_MECHANISMS = ("PLAIN", "XOAUTH2")


class AuthCommands(SessionCore):
    async def cmd_capability(self, command: Command) -> str | None:
        arity(command.args, 0)
        await self.untagged("CAPABILITY " + self.capabilities())
        return completed(command)

    async def cmd_noop(self, command: Command) -> str | None:
        arity(command.args, 0)
        return completed(command)  # pending changes are reported before every tagged OK

    async def cmd_logout(self, command: Command) -> str | None:
        arity(command.args, 0)
        await self.untagged("BYE " + replies.BYE_LOGOUT)
        self.deselect()
        self.state = State.LOGOUT
        return completed(command)

    async def cmd_id(self, command: Command) -> str | None:
        arity(command.args, 1)
        argument = command.args[0]
        is_nil = isinstance(argument, Atom) and argument.text.upper() == "NIL"
        if not isinstance(argument, Group) and not is_nil:
            raise bad("ID takes a parameter list or NIL")
        values = encode.group(encode.string(text) for pair in replies.SERVER_ID for text in pair)
        await self.send(b"* ID " + values + b"\r\n")
        return completed(command)

    async def cmd_starttls(self, command: Command) -> str | None:
        arity(command.args, 0)
        if self.connection.tls_active:
            raise bad(replies.TLS_ACTIVE)
        if self.starttls_context is None:
            raise no(replies.TLS_UNAVAILABLE)
        await self.tagged(command.tag, replies.OK, replies.STARTTLS_BEGIN)
        await self.connection.start_tls(self.starttls_context)
        return None

    async def cmd_login(self, command: Command) -> str | None:
        arity(command.args, 2)
        username, password = astring(command.args[0]), astring(command.args[1])
        await self.fault_gate(Stage.IMAP_LOGIN, username)
        self._logged_in(self.store.authenticate(username, password), username)
        return completed(command)

    async def cmd_authenticate(self, command: Command) -> str | None:
        arity(command.args, 1, 2)
        mechanism = astring(command.args[0]).upper()
        if mechanism not in SASL_MECHANISMS:
            raise no(replies.AUTH_UNSUPPORTED)
        if len(command.args) == 2:  # SASL-IR: the response came with the command
            response = astring(command.args[1]).encode("ascii", "replace")
        else:
            await self.send(replies.SASL_CONTINUE.encode() + b"\r\n")
            response = await self.read_continuation()
        if response.strip() == b"*":
            raise bad(replies.AUTH_CANCELLED)
        data = _decode_base64(response.strip())
        if mechanism == "PLAIN":
            username, mailbox = await self._plain(data)
        else:
            username, mailbox = await self._xoauth2(data)
        self._logged_in(mailbox, username)
        return completed(command)

    async def _plain(self, data: bytes) -> tuple[str, Mailbox | None]:
        fields = data.split(b"\x00")
        if len(fields) != 3:
            raise bad(replies.AUTH_BAD_MESSAGE)
        authzid, authcid, password = (field.decode("utf-8", "replace") for field in fields)
        await self.fault_gate(Stage.IMAP_LOGIN, authcid)
        mailbox = self.store.authenticate(authcid, password)
        if mailbox is not None and authzid and authzid != authcid:
            raise no(replies.AUTHZ_REFUSED)
        return authcid, mailbox

    async def _xoauth2(self, data: bytes) -> tuple[str, Mailbox | None]:
        # "user=NAME\x01auth=Bearer TOKEN\x01\x01" (Google's and Microsoft's XOAUTH2)
        parts = dict(
            field.split("=", 1)
            for field in data.decode("utf-8", "replace").split("\x01")
            if "=" in field
        )
        username, auth = parts.get("user", ""), parts.get("auth", "")
        scheme, _, token = auth.partition(" ")
        if not username or scheme.lower() != "bearer" or not token:
            raise bad(replies.AUTH_BAD_MESSAGE)
        await self.fault_gate(Stage.IMAP_LOGIN, username)
        return username, self.store.authenticate_token(username, token.strip())

    def _logged_in(self, mailbox: Mailbox | None, username: str) -> None:
        if mailbox is None:
            raise no(replies.AUTH_FAILED)
        self.mailbox = mailbox
        self.login_name = username
        self.state = State.AUTHENTICATED


def _decode_base64(text: bytes) -> bytes:
    if text == b"=":  # an empty initial response (RFC 4959)
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad(replies.AUTH_BAD_BASE64) from None
