"""SandboxService: the gRPC control of a running sandbox, translating protos to store, fault
engine and transcript calls and back. Errors are raised as erpmail domain errors; the shared
interceptor turns them into statuses with google.rpc details."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import UTC, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any, Protocol, TypeVar

import grpc
from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.runtime import fault_rules
from erpmail.sandbox.smtp.headers import subject_of
from erpmail.sandbox.smtp.transcript import Direction, Transcript, TranscriptLog
from erpmail.sandbox.store import INBOX, Folder, Mailbox, MailStore, ReceivedMessage, StoreError
from erpmail.sandbox.tls import Certificate
from erpmail.server.core import paging
from erpmail.server.core.errors import AlreadyExists, InvalidArgument, NotFound, Violations
from erpmail.server.core.protos import timestamp
from erpmail.v1 import sandbox_pb2 as pb
from erpmail.v1 import sandbox_pb2_grpc
from google.protobuf import duration_pb2

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")

DEFAULT_WAIT = timedelta(seconds=10)
MAX_WAIT = timedelta(minutes=5)
# The share of the caller's remaining deadline left for the answer to travel back.
DEADLINE_MARGIN = 0.1
# Loose on purpose: the sandbox must accept the odd addresses tests use, but not a typo like a
# missing '@' or a stray space.
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
# RFC 3501 flag: an atom, optionally preceded by a backslash for system flags.
_FLAG = re.compile(r'^\\?[^\s(){%*"\\\]\x00-\x1f\x7f]+$')
_DIRECTIONS = {
    Direction.CLIENT: pb.TRANSCRIPT_DIRECTION_CLIENT,
    Direction.SERVER: pb.TRANSCRIPT_DIRECTION_SERVER,
    Direction.NOTE: pb.TRANSCRIPT_DIRECTION_NOTE,
}
_VIEWS = (
    pb.RECEIVED_MESSAGE_VIEW_UNSPECIFIED,
    pb.RECEIVED_MESSAGE_VIEW_BASIC,
    pb.RECEIVED_MESSAGE_VIEW_FULL,
)


class SmtpLimits(Protocol):
    @property
    def auth_required(self) -> bool: ...
    @property
    def max_message_size(self) -> int: ...
    @property
    def max_recipients(self) -> int: ...


class ControlledSandbox(Protocol):
    """What the servicer needs of erpmail.sandbox.app.Sandbox (named here, not imported, so the
    two modules do not import each other)."""

    store: MailStore
    faults: FaultEngine
    transcripts: TranscriptLog
    certificate: Certificate
    ports: dict[str, int]

    @property
    def host(self) -> str: ...
    @property
    def config(self) -> SmtpLimits: ...
    def received_messages(
        self, recipient: str = "", after_id: int = 0
    ) -> list[ReceivedMessage]: ...
    async def collect_messages(
        self, count: int = 1, *, recipient: str = "", after_id: int = 0, timeout: float = ...
    ) -> list[ReceivedMessage]: ...
    def reset(self) -> None: ...


class SandboxServicer(sandbox_pb2_grpc.SandboxServiceServicer):
    def __init__(self, sandbox: ControlledSandbox) -> None:
        self._sandbox = sandbox
        self._store = sandbox.store
        self._faults = sandbox.faults

    # -- mailboxes ---------------------------------------------------------------------------

    async def CreateMailbox(
        self, request: pb.CreateMailboxRequest, context: Context
    ) -> pb.CreateMailboxResponse:
        problems = Violations()
        _check_address(problems, request.address, "address")
        problems.check(bool(request.password), "password", "is required")
        problems.check(
            not any(c.isspace() for c in request.username), "username", "must not contain spaces"
        )
        problems.raise_if_any()
        if self._store.mailbox_for_address(request.address) is not None:
            raise AlreadyExists("mailbox", request.address, "address")
        mailbox = self._store.create_mailbox(request.address, request.password, request.username)
        return pb.CreateMailboxResponse(mailbox=mailbox_proto(mailbox))

    async def ListMailboxes(
        self, request: pb.ListMailboxesRequest, context: Context
    ) -> pb.ListMailboxesResponse:
        after = _token_field(request.page_token, "after", str)
        ordered = sorted(self._store.mailboxes.items())
        remaining = [mailbox for key, mailbox in ordered if after is None or key > after]
        page, more = _page(remaining, request.page_size)
        return pb.ListMailboxesResponse(
            mailboxes=[mailbox_proto(m) for m in page],
            next_page_token=paging.encode_token({"after": page[-1].address.lower()})
            if more
            else "",
        )

    async def IssueOAuthToken(
        self, request: pb.IssueOAuthTokenRequest, context: Context
    ) -> pb.IssueOAuthTokenResponse:
        mailbox = self._mailbox(request.address)
        token = self._store.issue_token(mailbox)
        initial = f"user={mailbox.username}\x01auth=Bearer {token}\x01\x01".encode()
        return pb.IssueOAuthTokenResponse(
            access_token=token,
            username=mailbox.username,
            xoauth2_initial_response=base64.b64encode(initial).decode("ascii"),
        )

    async def DeliverMessage(
        self, request: pb.DeliverMessageRequest, context: Context
    ) -> pb.DeliverMessageResponse:
        problems = Violations()
        _check_address(problems, request.address, "address")
        problems.check(bool(request.raw), "raw", "is required: the message's RFC 5322 bytes")
        for index, flag in enumerate(request.flags):
            problems.check(bool(_FLAG.match(flag)), f"flags[{index}]", "is not an IMAP flag")
        problems.raise_if_any()
        mailbox = self._mailbox(request.address)
        name = request.folder or INBOX
        if request.create_folder and _find_folder(mailbox, name) is None:
            self._store.create_folder(mailbox, name)
        folder = self._folder(mailbox, name)
        message = self._store.append(
            mailbox,
            folder.name,
            request.raw,
            flags=request.flags,
            internal_date=request.internal_date.ToDatetime(tzinfo=UTC)
            if request.HasField("internal_date")
            else None,
        )
        return pb.DeliverMessageResponse(folder=folder_proto(folder), uid=message.uid)

    async def ResetUidValidity(
        self, request: pb.ResetUidValidityRequest, context: Context
    ) -> pb.ResetUidValidityResponse:
        mailbox = self._mailbox(request.address)
        folder = self._folder(mailbox, request.folder or INBOX)
        self._store.reset_uidvalidity(mailbox, folder.name)
        return pb.ResetUidValidityResponse(folder=folder_proto(folder))

    # -- mail received over SMTP -------------------------------------------------------------

    async def ListReceivedMessages(
        self, request: pb.ListReceivedMessagesRequest, context: Context
    ) -> pb.ListReceivedMessagesResponse:
        full = _full_view(request.view)
        after_id = _token_field(request.page_token, "after_id", int) or 0
        matching = self._sandbox.received_messages(request.recipient, after_id)
        page, more = _page(matching, request.page_size)
        return pb.ListReceivedMessagesResponse(
            messages=[received_proto(m, full) for m in page],
            next_page_token=paging.encode_token({"after_id": page[-1].id}) if more else "",
        )

    async def GetReceivedMessage(
        self, request: pb.GetReceivedMessageRequest, context: Context
    ) -> pb.GetReceivedMessageResponse:
        if request.id <= 0:
            raise InvalidArgument.of("id", "is required: a positive message id")
        found = next((m for m in self._store.received if m.id == request.id), None)
        if found is None:
            raise NotFound("received message", str(request.id))
        return pb.GetReceivedMessageResponse(message=received_proto(found, full=True))

    async def WaitForMessages(
        self, request: pb.WaitForMessagesRequest, context: Context
    ) -> pb.WaitForMessagesResponse:
        problems = Violations()
        problems.check(request.count >= 0, "count", "must not be negative")
        problems.check(request.after_id >= 0, "after_id", "must not be negative")
        full = _full_view(request.view)
        wait = _wait_seconds(problems, request.timeout, "timeout")
        problems.raise_if_any()
        remaining = context.time_remaining()
        if remaining is not None:
            # Answer a little before the caller's deadline: it gets the messages, not an error.
            wait = max(0.0, min(wait, remaining - max(0.1, remaining * DEADLINE_MARGIN)))
        count = request.count or 1
        messages = await self._sandbox.collect_messages(
            count, recipient=request.recipient, after_id=request.after_id, timeout=wait
        )
        return pb.WaitForMessagesResponse(
            messages=[received_proto(m, full) for m in messages],
            timed_out=len(messages) < count,
        )

    async def ListSmtpTranscripts(
        self, request: pb.ListSmtpTranscriptsRequest, context: Context
    ) -> pb.ListSmtpTranscriptsResponse:
        after = _token_field(request.page_token, "after", str)
        sessions = self._sandbox.transcripts.sessions()
        ids = [t.session_id for t in sessions]
        # A session no longer kept was older than every kept one: start from the oldest kept.
        start = ids.index(after) + 1 if after in ids else 0
        page, more = _page(sessions[start:], request.page_size)
        return pb.ListSmtpTranscriptsResponse(
            transcripts=[transcript_proto(t) for t in page],
            next_page_token=paging.encode_token({"after": page[-1].session_id}) if more else "",
        )

    # -- fault rules -------------------------------------------------------------------------

    async def AddFaultRule(
        self, request: pb.AddFaultRuleRequest, context: Context
    ) -> pb.AddFaultRuleResponse:
        if request.spec and request.HasField("rule"):
            raise InvalidArgument.of("spec", "give either rule or spec, not both")
        rule = (
            fault_rules.rule_from_spec(request.spec)
            if request.spec
            else fault_rules.rule_from_proto(request.rule, "rule")
        )
        if rule.id and any(existing.id == rule.id for existing in self._faults.list()):
            raise AlreadyExists("fault rule", rule.id, "rule.id")
        rule_id = self._faults.add(rule)
        added = next(r for r in self._faults.list() if r.id == rule_id)
        return pb.AddFaultRuleResponse(rule=fault_rules.rule_proto(added, self._faults))

    async def ListFaultRules(
        self, request: pb.ListFaultRulesRequest, context: Context
    ) -> pb.ListFaultRulesResponse:
        offset = _token_field(request.page_token, "offset", int) or 0
        if offset < 0:
            raise InvalidArgument.of("page_token", "is not a token this list issued")
        page, more = _page(self._faults.list()[offset:], request.page_size)
        return pb.ListFaultRulesResponse(
            rules=[fault_rules.rule_proto(rule, self._faults) for rule in page],
            next_page_token=paging.encode_token({"offset": offset + len(page)}) if more else "",
        )

    async def RemoveFaultRule(
        self, request: pb.RemoveFaultRuleRequest, context: Context
    ) -> pb.RemoveFaultRuleResponse:
        if not request.id:
            raise InvalidArgument.of("id", "is required")
        if not self._faults.remove(request.id):
            raise NotFound("fault rule", request.id)
        return pb.RemoveFaultRuleResponse()

    async def ClearFaultRules(
        self, request: pb.ClearFaultRulesRequest, context: Context
    ) -> pb.ClearFaultRulesResponse:
        count = len(self._faults.list())
        self._faults.clear()
        return pb.ClearFaultRulesResponse(removed_count=count)

    # -- the sandbox as a whole --------------------------------------------------------------

    async def GetInfo(self, request: pb.GetInfoRequest, context: Context) -> pb.GetInfoResponse:
        sandbox = self._sandbox
        config = sandbox.config
        return pb.GetInfoResponse(
            host=sandbox.host,
            ports=pb.SandboxPorts(**sandbox.ports),
            certificate_pem=sandbox.certificate.cert_pem.decode("ascii"),
            auth_required=config.auth_required,
            max_message_size=config.max_message_size,
            max_recipients=config.max_recipients,
        )

    async def Reset(self, request: pb.ResetRequest, context: Context) -> pb.ResetResponse:
        self._sandbox.reset()
        return pb.ResetResponse()

    # -- lookups -----------------------------------------------------------------------------

    def _mailbox(self, address: str) -> Mailbox:
        if not address:
            raise InvalidArgument.of("address", "is required")
        mailbox = self._store.mailbox_for_address(address)
        if mailbox is None:
            raise NotFound("mailbox", address)
        return mailbox

    def _folder(self, mailbox: Mailbox, name: str) -> Folder:
        folder = _find_folder(mailbox, name)
        if folder is None:
            raise NotFound("folder", f"{mailbox.address}/{name}")
        return folder


# -- proto conversion ------------------------------------------------------------------------


def mailbox_proto(mailbox: Mailbox) -> pb.Mailbox:
    folders = sorted(mailbox.folders.values(), key=lambda f: (f.name != INBOX, f.name))
    return pb.Mailbox(
        address=mailbox.address,
        username=mailbox.username,
        password=mailbox.password,
        folders=[folder_proto(f) for f in folders],
    )


def folder_proto(folder: Folder) -> pb.MailFolder:
    return pb.MailFolder(
        name=folder.name,
        uidvalidity=folder.uidvalidity,
        uidnext=folder.uidnext,
        message_count=len(folder.messages),
    )


def received_proto(message: ReceivedMessage, full: bool) -> pb.ReceivedMessage:
    headers = BytesHeaderParser(policy=compat32).parsebytes(message.raw, headersonly=True)
    return pb.ReceivedMessage(
        id=message.id,
        envelope_from=message.mail_from,
        envelope_to=message.rcpt_tos,
        subject=subject_of(message.raw),
        message_id=str(headers.get("Message-ID", "")).strip(),
        size_bytes=len(message.raw),
        receive_time=timestamp(message.received_at),
        tls=message.tls,
        auth_mechanism=message.auth_mechanism,
        auth_user=message.auth_user,
        peer=message.peer,
        raw=message.raw if full else b"",
    )


def transcript_proto(transcript: Transcript) -> pb.SmtpTranscript:
    proto = pb.SmtpTranscript(
        session_id=transcript.session_id,
        peer=transcript.peer,
        start_time=timestamp(transcript.started_at),
        omitted_lines=transcript.omitted_lines,
    )
    if transcript.ended_at is not None:
        proto.end_time.CopyFrom(timestamp(transcript.ended_at))
    for line in transcript.lines:
        item = proto.lines.add(direction=_DIRECTIONS[line.direction], text=line.text)
        item.time.FromNanoseconds(int(line.at * 1e9))
    return proto


# -- request checks --------------------------------------------------------------------------


def _check_address(problems: Violations, address: str, field: str) -> None:
    if not address:
        problems.add(field, "is required")
    elif not _ADDRESS.match(address):
        problems.add(field, "is not an email address (local@domain)")


def _find_folder(mailbox: Mailbox, name: str) -> Folder | None:
    try:
        return mailbox.folder(name)
    except StoreError:
        return None


def _full_view(view: int) -> bool:
    if view not in _VIEWS:
        raise InvalidArgument.of("view", f"{view} is not a known value")
    return view == pb.RECEIVED_MESSAGE_VIEW_FULL


def _wait_seconds(problems: Violations, duration: duration_pb2.Duration, field: str) -> float:
    wait = duration.ToTimedelta()
    if wait < timedelta(0):
        problems.add(field, "must not be negative")
    elif wait > MAX_WAIT:
        problems.add(field, f"must be at most {int(MAX_WAIT.total_seconds())} seconds")
    return (wait or DEFAULT_WAIT).total_seconds()


def _page(items: Sequence[T], requested: int) -> tuple[Sequence[T], bool]:
    """The first page of `items` and whether more follow."""
    size = paging.page_size(requested)
    return items[:size], len(items) > size


def _token_field(token: str, key: str, kind: type[T]) -> T | None:
    position = paging.decode_token(token)
    if position is None:
        return None
    value = position.get(key)
    # `type(...) is` as well: True is an int to isinstance.
    if type(value) is not kind or not isinstance(value, kind):
        raise InvalidArgument.of("page_token", "is not a token this list issued")
    return value
