"""AccountService: translates requests to the account domain and back; no rules live here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import grpc
from erpmail.server.accounts import convert
from erpmail.server.accounts.endpoints import probe_target
from erpmail.server.accounts.models import Account, Passwords, normalize, validate
from erpmail.server.accounts.probe import probe_account
from erpmail.server.accounts.references import UNCHECKED, AccountReferences
from erpmail.server.accounts.store import RESOURCE, AccountStore
from erpmail.server.core import access, context, paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import required
from erpmail.server.core.protos import apply_mask, check_mask, timestamp
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

# Output-only or identifying fields an update may not name.
IMMUTABLE = {
    "account_id",
    "create_time",
    "update_time",
    "incoming.password_set",
    "outgoing.password_set",
    "send_problem",
}


class SendProblem(Protocol):
    """What the outgoing feature knows about an account it cannot send through."""

    @property
    def error(self) -> str: ...
    @property
    def since(self) -> datetime: ...
    @property
    def retry_after(self) -> datetime: ...


SendProblems = Callable[[], Awaitable[Mapping[str, SendProblem]]]


async def _no_problems() -> Mapping[str, SendProblem]:
    return {}


class AccountServicer(accounts_pb2_grpc.AccountServiceServicer):
    def __init__(
        self,
        store: AccountStore,
        clock: Clock,
        send_problems: SendProblems = _no_problems,
        receive_soon: Callable[[str], None] = lambda account_id: None,
        accounts_changed: Callable[[], None] = lambda: None,
        references: AccountReferences = UNCHECKED,
    ) -> None:
        self._store = store
        self._clock = clock
        self._send_problems = send_problems
        # "Fetch at once after creation": started in the background, the create returns first.
        self._receive_soon = receive_soon
        # Features that follow the accounts (IMAP IDLE) look again after each committed change.
        self._accounts_changed = accounts_changed
        # Templates, assignment map and directory entries the account names must exist.
        self._references = references

    async def _with_problems(self, accounts: list[pb.Account]) -> list[pb.Account]:
        problems = await self._send_problems()
        for account in accounts:
            problem = problems.get(account.account_id)
            if problem is not None:
                account.send_problem.CopyFrom(
                    pb.AccountSendProblem(
                        error=problem.error,
                        since=timestamp(problem.since),
                        retry_time=timestamp(problem.retry_after),
                    )
                )
        return accounts

    async def CreateAccount(
        self, request: pb.CreateAccountRequest, context_: Context
    ) -> pb.CreateAccountResponse:
        access.require_admin(context.current(), RESOURCE)
        account = _valid(convert.to_domain(request.account))
        await self._references.check(account)
        passwords = Passwords(
            incoming=request.account.incoming.password or None,
            outgoing=request.account.outgoing.password or None,
        )
        stored = await self._store.create(
            account, passwords, context.current().actor, self._clock.now()
        )
        self._accounts_changed()
        if account.content.fetch_on_create and account.usage.receives:
            self._receive_soon(account.account_id)
        return pb.CreateAccountResponse(account=convert.to_proto(stored))

    async def GetAccount(
        self, request: pb.GetAccountRequest, context_: Context
    ) -> pb.GetAccountResponse:
        stored = await self._store.get_visible(required(request.account_id, "account_id"))
        (account,) = await self._with_problems([convert.to_proto(stored)])
        return pb.GetAccountResponse(account=account)

    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context_: Context
    ) -> pb.ListAccountsResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.visible_page(paging.after_key(request.page_token), size + 1)
        return pb.ListAccountsResponse(
            accounts=await self._with_problems([convert.to_proto(s) for s in found[:size]]),
            next_page_token=paging.next_page_token([s.account.account_id for s in found], size),
        )

    async def UpdateAccount(
        self, request: pb.UpdateAccountRequest, context_: Context
    ) -> pb.UpdateAccountResponse:
        account_id = required(request.account.account_id, "account.account_id")
        access.require_admin(context.current(), RESOURCE, account_id)
        paths = check_mask(request.update_mask, pb.Account(), "update_mask", IMMUTABLE)

        def edit(current: Account) -> tuple[Account, Passwords]:
            merged = convert.account_to_proto(current)
            apply_mask(paths, request.account, merged)
            merged.account_id = account_id
            return _valid(convert.to_domain(merged)), _masked_passwords(paths, request.account)

        # Checked on the account as the update would leave it (the store merges again, in its
        # transaction, against the account as it is then).
        await self._references.check(edit((await self._store.get(account_id)).account)[0], paths)
        stored = await self._store.update(
            account_id, edit, context.current().actor, self._clock.now()
        )
        self._accounts_changed()
        return pb.UpdateAccountResponse(account=convert.to_proto(stored))

    async def DeleteAccount(
        self, request: pb.DeleteAccountRequest, context_: Context
    ) -> pb.DeleteAccountResponse:
        account_id = required(request.account_id, "account_id")
        access.require_admin(context.current(), RESOURCE, account_id)
        await self._store.delete(account_id, context.current().actor, self._clock.now())
        self._accounts_changed()
        return pb.DeleteAccountResponse()

    async def TestAccount(
        self, request: pb.TestAccountRequest, context_: Context
    ) -> pb.TestAccountResponse:
        stored = await self._store.get_visible(required(request.account_id, "account_id"))
        passwords = await self._store.passwords(stored.account.account_id)
        steps = await probe_account(
            probe_target(stored.account, passwords), send_test_email=request.send_test_email
        )
        return pb.TestAccountResponse(
            ok=all(step.ok for step in steps),
            steps=[
                pb.TestStep(
                    server=(
                        pb.TEST_STEP_SERVER_OUTGOING
                        if step.server == "outgoing"
                        else pb.TEST_STEP_SERVER_INCOMING
                    ),
                    name=step.name,
                    ok=step.ok,
                    detail=step.detail,
                )
                for step in steps
            ],
        )

    async def ListAccountChanges(
        self, request: pb.ListAccountChangesRequest, context_: Context
    ) -> pb.ListAccountChangesResponse:
        account_id = required(request.account_id, "account_id")
        await self._store.require_visible(account_id, RESOURCE, account_id)
        size = paging.page_size(request.page_size)
        found = await self._store.changes(
            account_id, paging.before_id(request.page_token), size + 1
        )
        return pb.ListAccountChangesResponse(
            changes=[convert.change_to_proto(c) for c in found[:size]],
            next_page_token=paging.next_page_token([c.id for c in found], size),
        )


def _valid(account: Account) -> Account:
    normalize(account)
    validate(account)
    return account


def _masked_passwords(paths: list[str], request: pb.Account) -> Passwords:
    """Password changes an update asks for.

    A password named by its own path ("incoming.password") is set, or removed when empty; under a
    broader path ("incoming", "*") it changes only when a new one is given, so that replacing the
    server settings does not silently drop the stored password.
    """

    def pick(server: str, value: str) -> str | None:
        if f"{server}.password" in paths:
            return value
        if value and (server in paths or paths == ["*"]):
            return value
        return None

    return Passwords(
        incoming=pick("incoming", request.incoming.password),
        outgoing=pick("outgoing", request.outgoing.password),
    )
