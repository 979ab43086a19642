"""Over real gRPC with API keys required: a user (or a service acting for it) sees only the mail,
accounts, figures and entity requests of the accounts it is a member of; everything of another
account is NOT_FOUND on every path, the watch stream included; changing an account is for admins;
and an account's password is in no response and no log record."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from erpmail.server.app import ErpmailServer
from erpmail.server.config import Settings
from erpmail.server.core.context import Role
from erpmail.server.entity_requests.store import insert_requests
from erpmail.server.incoming.plan import RequestDraft, RequestKind
from erpmail.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    emails_pb2,
    emails_pb2_grpc,
    entity_requests_pb2,
    entity_requests_pb2_grpc,
    management_pb2,
    management_pb2_grpc,
    processing_pb2,
    processing_pb2_grpc,
)
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from tests.support.accounts import account
from tests.support.errors import details
from tests.support.outgoing import email
from tests.support.secrets_watch import secret

Metadata = tuple[tuple[str, str], ...]
PASSWORD = secret("account-a-password-7Qx")
OTHER_PASSWORD = secret("account-b-password-9Zk")
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def bearer(key: str, actor: str = "") -> Metadata:
    pairs = [("authorization", f"Bearer {key}")]
    if actor:
        pairs.append(("x-erpmail-actor", actor))
    return tuple(pairs)


@dataclass
class World:
    server: ErpmailServer
    channel: grpc.aio.Channel
    admin: Metadata
    user_a: Metadata
    service_for_a: Metadata
    # Email ids by account: a draft of each, subject "Invoice <account>".
    drafts: dict[str, str]
    # Entity request ids by account.
    requests: dict[str, str]

    @property
    def emails(self) -> emails_pb2_grpc.EmailServiceAsyncStub:
        return emails_pb2_grpc.EmailServiceStub(self.channel)

    @property
    def accounts(self) -> accounts_pb2_grpc.AccountServiceAsyncStub:
        return accounts_pb2_grpc.AccountServiceStub(self.channel)


@pytest.fixture
async def world(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[World]:
    caplog.set_level(logging.DEBUG)
    settings = Settings(listen="127.0.0.1:0", data_dir=tmp_path / "data", require_api_keys=True)
    server = ErpmailServer(settings)
    await server.start()
    now = datetime.now(UTC)
    _, admin = await server.api_keys.create("ops", Role.ADMIN, "", "erpmail-cli", now)
    _, user_a = await server.api_keys.create("anna", Role.USER, "EMPA", "ops", now)
    _, user_b = await server.api_keys.create("bert", Role.USER, "EMPB", "ops", now)
    _, service = await server.api_keys.create("erp", Role.SERVICE, "", "ops", now)
    async with grpc.aio.insecure_channel(server.address) as channel:
        accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        emails = emails_pb2_grpc.EmailServiceStub(channel)
        drafts = {}
        # b first: its ids come first, so a stream or list not filtered would show it first.
        for account_id, member, password in (
            ("b", "EMPB", OTHER_PASSWORD),
            ("a", "EMPA", PASSWORD),
        ):
            message = account(account_id)
            message.incoming.password = password
            # Nothing listens there: a receive fails at once instead of reaching the network.
            message.incoming.host, message.incoming.port = "127.0.0.1", 9
            message.allowed_employee_ids.append(member)
            await accounts.CreateAccount(
                accounts_pb2.CreateAccountRequest(account=message), metadata=bearer(admin)
            )
            created = await emails.CreateEmail(
                emails_pb2.CreateEmailRequest(
                    email=email(account_id=account_id, subject=f"Invoice {account_id}")
                ),
                metadata=bearer(admin),
            )
            drafts[account_id] = created.emails[0].email_id
        requests = {}
        for account_id in ("b", "a"):
            async with server.db.write() as conn:
                await insert_requests(
                    conn,
                    int(drafts[account_id]),
                    account_id,
                    [RequestDraft(RequestKind.CREATE_CASE, {"sender": "c@example.com"})],
                    now,
                )
                async with conn.execute("SELECT MAX(id) FROM entity_requests") as cursor:
                    row = await cursor.fetchone()
            assert row is not None
            requests[account_id] = str(row[0])
        await server.entity_requests.recorded.notify()
        yield World(
            server,
            channel,
            bearer(admin),
            bearer(user_a),
            bearer(service, "EMPA"),
            drafts,
            requests,
        )
    await server.stop(grace=0)
    # Every record captured while the server ran, formatted with its extras.
    for record in caplog.records:
        text = f"{record.getMessage()} {record.__dict__}"
        assert PASSWORD not in text and OTHER_PASSWORD not in text
    assert user_b  # a second user key exists: keys of other users change nothing here


async def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call  # type: ignore[misc]
    return failed.value.code()


async def test_email_of_another_account_is_not_found_for_a_user_key(world: World) -> None:
    request = emails_pb2.GetEmailRequest(email_id=world.drafts["b"])
    assert await _code(world.emails.GetEmail(request, metadata=world.user_a)) == NOT_FOUND
    own = await world.emails.GetEmail(
        emails_pb2.GetEmailRequest(email_id=world.drafts["a"]), metadata=world.user_a
    )
    assert own.email.account_id == "a"
    admin = await world.emails.GetEmail(request, metadata=world.admin)
    assert admin.email.account_id == "b"


async def test_lists_views_and_searches_show_only_the_users_accounts(world: World) -> None:
    for request in (
        emails_pb2.ListEmailsRequest(),
        emails_pb2.ListEmailsRequest(view=emails_pb2.EMAIL_VIEW_OUTGOING),
        emails_pb2.ListEmailsRequest(query="invoice"),
        emails_pb2.ListEmailsRequest(account_id="b"),
    ):
        for caller in (world.user_a, world.service_for_a):
            listed = await world.emails.ListEmails(request, metadata=caller)
            assert {e.account_id for e in listed.emails} <= {"a"}, request
    everything = await world.emails.ListEmails(emails_pb2.ListEmailsRequest(), metadata=world.admin)
    assert {e.account_id for e in everything.emails} == {"a", "b"}


async def test_a_service_acting_for_a_user_gets_that_users_view(world: World) -> None:
    request = emails_pb2.GetEmailRequest(email_id=world.drafts["b"])
    assert await _code(world.emails.GetEmail(request, metadata=world.service_for_a)) == NOT_FOUND
    listed = await world.accounts.ListAccounts(
        accounts_pb2.ListAccountsRequest(), metadata=world.service_for_a
    )
    assert [a.account_id for a in listed.accounts] == ["a"]


async def test_watch_shows_current_and_live_email_of_the_users_accounts_only(
    world: World,
) -> None:
    stream = world.emails.WatchEmails(
        emails_pb2.WatchEmailsRequest(include_current=True), metadata=world.user_a
    )
    changes: asyncio.Queue[str] = asyncio.Queue()

    async def read() -> None:
        async for event in stream:
            if event.HasField("change"):
                await changes.put(event.change.email.email_id)

    reader = asyncio.ensure_future(read())
    try:
        assert await asyncio.wait_for(changes.get(), 10) == world.drafts["a"]
        for account_id in ("b", "a"):
            created = await world.emails.CreateEmail(
                emails_pb2.CreateEmailRequest(email=email(account_id=account_id)),
                metadata=world.admin,
            )
        assert await asyncio.wait_for(changes.get(), 10) == created.emails[0].email_id
    finally:
        stream.cancel()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def test_figures_and_accounts_cover_only_the_users_accounts(world: World) -> None:
    management = management_pb2_grpc.ManagementServiceStub(world.channel)
    figures = await management.GetMailFigures(
        management_pb2.GetMailFiguresRequest(), metadata=world.user_a
    )
    assert [f.account_id for f in figures.accounts] == ["a"]
    hidden = management_pb2.GetMailFiguresRequest(account_ids=["b"])
    assert await _code(management.GetMailFigures(hidden, metadata=world.user_a)) == NOT_FOUND
    listed = await world.accounts.ListAccounts(
        accounts_pb2.ListAccountsRequest(), metadata=world.user_a
    )
    assert [a.account_id for a in listed.accounts] == ["a"]
    get_b = accounts_pb2.GetAccountRequest(account_id="b")
    assert await _code(world.accounts.GetAccount(get_b, metadata=world.user_a)) == NOT_FOUND


async def test_entity_requests_of_another_account_are_not_found(world: World) -> None:
    stub = entity_requests_pb2_grpc.EntityRequestServiceStub(world.channel)
    hidden = world.requests["b"]
    listed = await stub.ListEntityRequests(
        entity_requests_pb2.ListEntityRequestsRequest(page_size=1), metadata=world.user_a
    )
    assert [r.entity_request_id for r in listed.entity_requests] == [world.requests["a"]]
    assert listed.next_page_token == ""
    for call in (
        stub.GetEntityRequest(
            entity_requests_pb2.GetEntityRequestRequest(entity_request_id=hidden),
            metadata=world.user_a,
        ),
        stub.CompleteEntityRequest(
            entity_requests_pb2.CompleteEntityRequestRequest(
                entity_request_id=hidden,
                entity=emails_pb2.RelatedEntity(type="case", id="C1"),
            ),
            metadata=world.user_a,
        ),
        stub.RejectEntityRequest(
            entity_requests_pb2.RejectEntityRequestRequest(entity_request_id=hidden, reason="no"),
            metadata=world.user_a,
        ),
    ):
        assert await _code(call) == NOT_FOUND
    stream = stub.WatchEntityRequests(
        entity_requests_pb2.WatchEntityRequestsRequest(), metadata=world.user_a
    )
    try:
        first = await asyncio.wait_for(stream.read(), 10)
        assert isinstance(first, entity_requests_pb2.WatchEntityRequestsResponse)
        assert first.entity_request.entity_request_id == world.requests["a"]
    finally:
        stream.cancel()
    still_open = await stub.GetEntityRequest(
        entity_requests_pb2.GetEntityRequestRequest(entity_request_id=hidden),
        metadata=world.admin,
    )
    assert still_open.entity_request.status == entity_requests_pb2.ENTITY_REQUEST_STATUS_OPEN


async def test_receive_process_and_runs_reach_only_the_users_accounts(world: World) -> None:
    processing = processing_pb2_grpc.ProcessingServiceStub(world.channel)
    management = management_pb2_grpc.ManagementServiceStub(world.channel)
    for call in (
        processing.ReceiveEmails(
            processing_pb2.ReceiveEmailsRequest(account_ids=["b"]), metadata=world.user_a
        ),
        processing.ProcessIncomingEmails(
            processing_pb2.ProcessIncomingEmailsRequest(account_id="b"), metadata=world.user_a
        ),
        processing.ProcessIncomingEmails(
            processing_pb2.ProcessIncomingEmailsRequest(email_ids=[world.drafts["b"]]),
            metadata=world.user_a,
        ),
        management.RunSendReceive(
            management_pb2.RunSendReceiveRequest(
                action=management_pb2.SEND_RECEIVE_ACTION_SEND_ALL, account_ids=["b"]
            ),
            metadata=world.user_a,
        ),
    ):
        assert await _code(call) == NOT_FOUND
    received = await processing.ReceiveEmails(
        processing_pb2.ReceiveEmailsRequest(), metadata=world.user_a
    )
    assert [r.account_id for r in received.receipts] == ["a"]
    run = await management.RunSendReceive(
        management_pb2.RunSendReceiveRequest(action=management_pb2.SEND_RECEIVE_ACTION_SEND_ALL),
        metadata=world.user_a,
    )
    assert [r.account_id for r in run.reports] == ["a"]


async def test_changing_an_account_is_denied_to_a_user_as_admin_only(world: World) -> None:
    update = accounts_pb2.UpdateAccountRequest(
        account=accounts_pb2.Account(account_id="a", display_name="Mine now"),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
    )
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await world.accounts.UpdateAccount(update, metadata=world.user_a)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    reasons = [i.reason for i in details(denied.value, error_details_pb2.ErrorInfo)]
    assert reasons == ["ADMIN_ONLY"]


async def test_account_passwords_are_in_no_response(world: World) -> None:
    changed = accounts_pb2.UpdateAccountRequest(
        account=accounts_pb2.Account(
            account_id="a", incoming=accounts_pb2.IncomingServer(password=secret("rotated-pw-3Lm"))
        ),
        update_mask=field_mask_pb2.FieldMask(paths=["incoming.password"]),
    )
    responses: list[Message] = [await world.accounts.UpdateAccount(changed, metadata=world.admin)]
    for caller in (world.admin, world.user_a):
        responses += [
            await world.accounts.GetAccount(
                accounts_pb2.GetAccountRequest(account_id="a"), metadata=caller
            ),
            await world.accounts.ListAccounts(accounts_pb2.ListAccountsRequest(), metadata=caller),
            await world.accounts.ListAccountChanges(
                accounts_pb2.ListAccountChangesRequest(account_id="a"), metadata=caller
            ),
        ]
    for response in responses:
        raw = response.SerializeToString()
        for password in (PASSWORD, OTHER_PASSWORD, "rotated-pw-3Lm"):
            assert password.encode() not in raw and password not in str(response)
    got = responses[1]
    assert isinstance(got, accounts_pb2.GetAccountResponse)
    assert got.account.incoming.password_set and not got.account.incoming.password
