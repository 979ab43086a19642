"""The pure parts of erpmailctl, without processes or sockets: table layout, exit codes, error
text, option parsing and the words it shows for proto values."""

from __future__ import annotations

import argparse

import grpc
import pytest
from erpmail.client import ErrorDetails, FieldViolation, PreconditionViolation
from erpmail.client.cli import exits
from erpmail.client.cli.accounts import account_from
from erpmail.client.cli.formats import addresses, host_port, value_of, word, words
from erpmail.client.cli.main import build_parser
from erpmail.client.cli.output import table, truncate
from erpmail.v1 import accounts_pb2, common_pb2, emails_pb2


def test_table_columns_are_as_wide_as_their_widest_cell_and_lines_end_without_blanks() -> None:
    text = table(["ID", "SUBJECT", "TO"], [["1", "Invoice 42", ""], ["1234", "Hi", "a@b.c"]])

    assert text.splitlines() == [
        "ID    SUBJECT     TO",
        "1     Invoice 42",
        "1234  Hi          a@b.c",
    ]


def test_long_cells_are_cut_with_an_ellipsis_and_kept_on_one_line() -> None:
    assert truncate("x" * 50, 10) == "x" * 9 + "…"
    assert truncate("two\nlines", 40) == "two lines"
    (_, row) = table(["A", "B"], [["y" * 100, "z"]], limit=8).splitlines()
    assert row == "yyyyyyy…  z"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (grpc.StatusCode.UNAVAILABLE, 3),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 3),
        (grpc.StatusCode.INVALID_ARGUMENT, 4),
        (grpc.StatusCode.FAILED_PRECONDITION, 4),
        (grpc.StatusCode.ALREADY_EXISTS, 4),
        (grpc.StatusCode.OUT_OF_RANGE, 4),
        (grpc.StatusCode.NOT_FOUND, 5),
        (grpc.StatusCode.UNAUTHENTICATED, 6),
        (grpc.StatusCode.PERMISSION_DENIED, 6),
        (grpc.StatusCode.INTERNAL, 7),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 7),
        (grpc.StatusCode.UNKNOWN, 7),
    ],
)
def test_each_status_has_its_documented_exit_code(status: grpc.StatusCode, code: int) -> None:
    assert exits.exit_code(status) == code
    assert f"  {code}  " in exits.EPILOG


def test_an_error_names_every_field_and_precondition_once() -> None:
    one = ErrorDetails(
        grpc.StatusCode.INVALID_ARGUMENT,
        "email.to[0].address: is not an email address",
        [FieldViolation("email.to[0].address", "is not an email address")],
    )
    several = ErrorDetails(
        grpc.StatusCode.FAILED_PRECONDITION,
        "the account is in use",
        precondition_violations=[PreconditionViolation("PENDING_EMAIL", "accounts/a", "3 pending")],
        reason="PENDING_EMAIL",
        retry_delay=2.5,
    )

    assert exits.describe(one) == ("INVALID_ARGUMENT: email.to[0].address: is not an email address")
    assert exits.describe(several).splitlines() == [
        "FAILED_PRECONDITION: the account is in use (PENDING_EMAIL)",
        "  accounts/a: 3 pending",
        "  retry in 2.5 s",
    ]


def test_global_options_go_before_or_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--json", "--address", "h:1", "mail", "list"])
    after = parser.parse_args(["mail", "list", "--json", "--address", "h:1"])
    neither = parser.parse_args(["mail", "list"])

    for args in (before, after):
        assert (args.json, args.address, args.view) == (True, "h:1", "all")
    assert (neither.json, neither.address) == (False, None)


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-key", "erpm_1f_Secret", "accounts", "list"],
        ["accounts", "list", "--api-key=erpm_1f_Secret"],
        ["accounts", "create", "a", "--email", "a@x.org", "--password", "erpm_1f_Secret"],
        ["accounts", "create", "a", "--email", "a@x.org", "--pass", "erpm_1f_Secret"],
        ["--pasword", "erpm_1f_Secret", "accounts", "list"],
        ["accounts", "--api-key-fle", "erpm_1f_Secret", "list"],
    ],
)
def test_a_secret_on_the_command_line_is_refused_without_repeating_it(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)

    assert stopped.value.code == exits.USAGE
    printed = capsys.readouterr()
    assert any(
        said in printed.err
        for said in ("no secret on the command line", "--pass", "word given is not shown")
    )
    assert "erpm_1f_Secret" not in printed.out + printed.err


def test_enum_values_are_shown_as_short_words_and_read_back() -> None:
    assert word(emails_pb2.EmailStatus, emails_pb2.EMAIL_STATUS_IN_PROCESS) == "in-process"
    assert words(accounts_pb2.AccountUsage) == ["send-and-receive", "send-only", "receive-only"]
    assert value_of(emails_pb2.EmailView, "pending-and-failed") == (
        emails_pb2.EMAIL_VIEW_PENDING_AND_FAILED
    )


def test_servers_are_host_and_port_with_0_for_the_standard_port() -> None:
    assert host_port("mail.example.com:587") == ("mail.example.com", 587)
    assert host_port("mail.example.com") == ("mail.example.com", 0)
    assert host_port("[::1]:25") == ("::1", 25)
    for bad in ("a:b", "host:70000", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            host_port(bad)


def test_recipients_take_names_and_commas() -> None:
    found = addresses(["Ann <ann@example.com>, bob@example.com", "carl@example.com"])

    assert [(a.name, a.address) for a in found] == [
        ("Ann", "ann@example.com"),
        ("", "bob@example.com"),
        ("", "carl@example.com"),
    ]


def test_an_account_from_flags_logs_in_to_both_servers_with_one_password() -> None:
    args = build_parser().parse_args(
        ["accounts", "create", "sales", "--email", "sales@example.com", "--imap", "imap.x:993",
         "--smtp", "smtp.x:465", "--username", "sales"]
    )  # fmt: skip

    account = account_from(args, "pw-123")

    assert account.usage == accounts_pb2.ACCOUNT_USAGE_SEND_AND_RECEIVE
    assert account.incoming.protocol == accounts_pb2.INCOMING_PROTOCOL_IMAP
    assert (account.incoming.host, account.incoming.port) == ("imap.x", 993)
    assert (account.outgoing.host, account.outgoing.port) == ("smtp.x", 465)
    assert account.outgoing.security == common_pb2.CONNECTION_SECURITY_SSL_TLS
    assert account.outgoing.requires_authentication
    assert not account.outgoing.use_own_credentials and account.incoming.password == "pw-123"


def test_an_account_from_flags_logs_in_with_its_address_unless_told_otherwise() -> None:
    args = build_parser().parse_args(
        ["accounts", "create", "sales", "--email", "sales@example.com", "--smtp", "smtp.x:25"]
    )
    relay = build_parser().parse_args(
        ["accounts", "create", "relay", "--email", "relay@example.com", "--smtp", "smtp.x:25",
         "--no-smtp-auth"]
    )  # fmt: skip

    account = account_from(args, "pw-123")

    assert account.incoming.username == "sales@example.com"
    assert account.outgoing.requires_authentication
    assert not account_from(relay, "").outgoing.requires_authentication
