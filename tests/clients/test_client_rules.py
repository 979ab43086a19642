"""The Python client's rules, without a server: which calls are retried and get a deadline, how
request ids are filled, how pages follow each other, where a watch resumes and how an error
prints."""

from __future__ import annotations

import json
from itertools import islice

import grpc
import pytest
from erpmail.client import (
    ErrorDetails,
    FieldViolation,
    PreconditionViolation,
    Reconnect,
    RetryPolicy,
    calls,
    error_details,
    paging,
    watch,
)
from erpmail.client.calls import CallKind
from erpmail.client.interceptors import AsyncMetadata
from erpmail.v1 import directory_pb2, emails_pb2, entity_requests_pb2

KINDS = {
    "/erpmail.v1.EmailService/GetEmail": CallKind.READ,
    "/erpmail.v1.EmailService/ListEmails": CallKind.READ,
    "/erpmail.v1.TemplateService/PreviewTemplate": CallKind.READ,
    "/erpmail.v1.EmailService/CreateEmail": CallKind.IDEMPOTENT,
    "/erpmail.v1.MailingService/SendTemplateEmail": CallKind.IDEMPOTENT,
    "/erpmail.v1.AccountService/DeleteAccount": CallKind.ONCE,
    "/erpmail.v1.AccountService/TestAccount": CallKind.ONCE,
    "/erpmail.v1.EmailService/WatchEmails": CallKind.STREAM,
    "/erpmail.v1.NoSuchService/Anything": CallKind.ONCE,
}


@pytest.mark.parametrize(("path", "kind"), KINDS.items())
def test_reads_and_calls_with_a_request_id_are_retryable_and_nothing_else(
    path: str, kind: CallKind
) -> None:
    assert calls.kind_of_path(path) is kind


def method_configs(retry: RetryPolicy | None) -> dict[str, dict[str, object]]:
    """Each method's entry of the service config, by "Service/Method"."""
    config = json.loads(calls.service_config(retry))
    return {
        f"{name['service']}/{name['method']}": entry
        for entry in config["methodConfig"]
        for name in entry["name"]
    }


def details(method: str, timeout: float | None) -> grpc.aio.ClientCallDetails:
    return grpc.aio.ClientCallDetails(method, timeout, None, None, None)


def test_unary_calls_get_the_default_deadline_unless_given_one_and_streams_none() -> None:
    prepare = AsyncMetadata((("x-erpmail-actor", "emp-7"),), timeout=12.5)
    request = emails_pb2.GetEmailRequest()

    _, default, _ = prepare.prepared(details("/erpmail.v1.EmailService/GetEmail", None), request)
    _, longer, _ = prepare.prepared(details("/erpmail.v1.EmailService/GetEmail", 300), request)
    watch_request = emails_pb2.WatchEmailsRequest()
    _, stream, _ = prepare.prepared(
        details("/erpmail.v1.EmailService/WatchEmails", None), watch_request
    )

    assert (default, longer, stream) == (12.5, 300, None)


def test_only_safe_calls_are_retried_and_only_on_unavailable() -> None:
    configs = method_configs(RetryPolicy())
    policy = configs["erpmail.v1.EmailService/GetEmail"]["retryPolicy"]
    assert policy == {
        "maxAttempts": 5,
        "initialBackoff": "0.100s",
        "maxBackoff": "5.000s",
        "backoffMultiplier": 2.0,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    assert "retryPolicy" in configs["erpmail.v1.EmailService/CreateEmail"]
    assert "erpmail.v1.AccountService/DeleteAccount" not in configs
    assert "erpmail.v1.EmailService/WatchEmails" not in configs
    assert method_configs(RetryPolicy(attempts=1)) == {}
    assert method_configs(None) == {}


@pytest.mark.parametrize(
    "wrong",
    [{"attempts": 0}, {"attempts": 6}, {"first_backoff": 0}, {"longest_backoff": 0.01}],
)
def test_a_retry_policy_grpc_would_refuse_is_refused_when_made(wrong: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**wrong)  # type: ignore[arg-type]


def test_an_empty_request_id_is_filled_in_a_copy_and_a_given_one_kept() -> None:
    empty = emails_pb2.CreateEmailRequest()
    filled = calls.with_request_id(empty)
    assert empty.request_id == "" and len(filled.request_id) == 32
    given = emails_pb2.CreateEmailRequest(request_id="order-42")
    assert calls.with_request_id(given) is given
    no_field = emails_pb2.GetEmailRequest(email_id="1")
    assert calls.with_request_id(no_field) is no_field


def test_the_next_page_asks_for_the_token_with_everything_else_kept() -> None:
    request = directory_pb2.ListEmployeesRequest(page_size=2)
    response = directory_pb2.ListEmployeesResponse(next_page_token="t2")
    following = paging.next_request(request, response)
    assert following == directory_pb2.ListEmployeesRequest(page_size=2, page_token="t2")
    assert paging.next_request(request, directory_pb2.ListEmployeesResponse()) is None
    assert paging.items_field(response) == "employees"


def test_a_response_without_one_list_of_items_is_not_pageable() -> None:
    with pytest.raises(TypeError):
        paging.items_field(emails_pb2.GetEmailResponse())


def test_an_email_watch_resumes_after_the_last_revision_of_a_change_or_progress() -> None:
    first = emails_pb2.WatchEmailsRequest(account_id="a", include_current=True)
    cursor = watch.EmailCursor(first)
    assert cursor.request() == first
    assert cursor.request() == first  # broken before a word: asked again as at first
    cursor.advance(emails_pb2.WatchEmailsResponse(change=emails_pb2.EmailChange(revision=7)))
    cursor.advance(emails_pb2.WatchEmailsResponse(progress=emails_pb2.WatchProgress(revision=9)))
    assert cursor.request() == emails_pb2.WatchEmailsRequest(account_id="a", after_revision=9)
    assert not cursor.finished()


def test_an_entity_request_watch_resumes_after_the_last_request_seen() -> None:
    cursor = watch.EntityRequestCursor(entity_requests_pb2.WatchEntityRequestsRequest())
    seen = entity_requests_pb2.EntityRequest(entity_request_id="41")
    cursor.advance(entity_requests_pb2.WatchEntityRequestsResponse(entity_request=seen))
    assert cursor.request().after_entity_request_id == 41


def broken(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "broken")


def test_a_watch_reconnects_on_unavailable_with_growing_pauses_reset_by_a_message() -> None:
    follower = watch.Follower(
        watch.EmailCursor(emails_pb2.WatchEmailsRequest()), Reconnect(0.1, 2, 0.3)
    )
    pauses = [follower.pause_after(broken(grpc.StatusCode.UNAVAILABLE)) for _ in range(4)]
    assert pauses == [0.1, 0.2, 0.3, 0.3]
    follower.received(emails_pb2.WatchEmailsResponse())
    assert follower.pause_after(None) == 0.1  # the server ended the stream: reconnect too


def test_a_watch_gives_up_on_errors_reconnecting_cannot_cure() -> None:
    follower = watch.Follower(watch.EmailCursor(emails_pb2.WatchEmailsRequest()), Reconnect())
    with pytest.raises(grpc.aio.AioRpcError):
        follower.pause_after(broken(grpc.StatusCode.FAILED_PRECONDITION))


def test_reconnect_pauses_are_capped() -> None:
    assert list(islice(Reconnect(1, 3, 5).pauses(), 4)) == [1, 3, 5, 5]


def test_an_error_prints_its_message_then_only_the_violations_it_does_not_tell() -> None:
    one_field = ErrorDetails(
        grpc.StatusCode.INVALID_ARGUMENT,
        "email.subject: must not contain line breaks",
        [FieldViolation("email.subject", "must not contain line breaks")],
    )
    one_precondition = ErrorDetails(
        grpc.StatusCode.FAILED_PRECONDITION,
        "the account only receives email",
        precondition_violations=[
            PreconditionViolation(
                "ACCOUNT_DOES_NOT_SEND", "accounts/in", "the account only receives email"
            )
        ],
    )
    summarised = ErrorDetails(
        grpc.StatusCode.INVALID_ARGUMENT,
        "2 problems",
        [FieldViolation("to", "is required"), FieldViolation("subject", "is too long")],
    )
    partly_told = ErrorDetails(
        grpc.StatusCode.INVALID_ARGUMENT,
        "to: is required",
        [FieldViolation("to", "is required"), FieldViolation("cc", "is required")],
    )

    assert str(one_field) == "INVALID_ARGUMENT: email.subject: must not contain line breaks"
    assert str(one_precondition) == "FAILED_PRECONDITION: the account only receives email"
    assert str(summarised).splitlines() == [
        "INVALID_ARGUMENT: 2 problems",
        "  to: is required",
        "  subject: is too long",
    ]
    assert str(partly_told).splitlines() == [
        "INVALID_ARGUMENT: to: is required",
        "  cc: is required",
    ]


def current(email_id: str, status: int, revision: int = 10) -> emails_pb2.WatchEmailsResponse:
    email = emails_pb2.Email(email_id=email_id, status=status)  # type: ignore[arg-type]
    return emails_pb2.WatchEmailsResponse(
        change=emails_pb2.EmailChange(revision=revision, email=email)
    )


def test_a_watch_broken_while_telling_the_current_state_asks_for_it_again_without_repeats() -> None:
    first = emails_pb2.WatchEmailsRequest(include_current=True)
    cursor = watch.EmailCursor(first)
    pending = emails_pb2.EMAIL_STATUS_PENDING
    assert cursor.advance(current("1", pending)) and cursor.advance(current("2", pending))

    assert cursor.request() == first  # broken after two of the current emails
    assert not cursor.advance(current("1", pending))  # delivered already, unchanged
    assert cursor.advance(current("2", emails_pb2.EMAIL_STATUS_PROCESSED))  # changed since
    assert cursor.advance(current("3", pending))
    assert cursor.advance(current("4", pending, revision=11))  # a live change: state told

    assert cursor.request() == emails_pb2.WatchEmailsRequest(after_revision=11)


def test_a_watch_broken_twice_while_telling_the_current_state_still_repeats_nothing() -> None:
    cursor = watch.EmailCursor(emails_pb2.WatchEmailsRequest(include_current=True))
    pending = emails_pb2.EMAIL_STATUS_PENDING
    assert cursor.advance(current("1", pending)) and cursor.advance(current("2", pending))
    cursor.request()  # broken; the state comes again under a newer revision
    assert not cursor.advance(current("1", pending, revision=12))
    assert not cursor.advance(current("2", pending, revision=12))
    assert cursor.advance(current("3", pending, revision=12))


def test_error_details_of_an_unreadable_status_or_a_bare_error_tell_what_is_certain() -> None:
    corrupt = grpc.aio.AioRpcError(
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(("grpc-status-details-bin", b"\xff\xff not a status")),
        "bad request",
    )
    told = error_details(corrupt)
    assert (told.code, told.message, told.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "bad request",
        [],
    )
    assert error_details(grpc.RpcError()).code is grpc.StatusCode.UNKNOWN
