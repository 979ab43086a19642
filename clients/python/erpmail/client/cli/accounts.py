"""`accounts list|create|test`: the system email accounts."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

import grpc
from erpmail.client import Client
from erpmail.client.cli import exits
from erpmail.client.cli.common import RefuseSecret
from erpmail.client.cli.formats import host_port, server, value_of, word, words
from erpmail.client.cli.output import Output, as_dict
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import common_pb2, preferences_pb2

PASSWORD_ENV = "ERPMAIL_ACCOUNT_PASSWORD"
SECURITY = {
    "none": common_pb2.CONNECTION_SECURITY_NONE,
    "ssl": common_pb2.CONNECTION_SECURITY_SSL_TLS,
    "starttls": common_pb2.CONNECTION_SECURITY_STARTTLS,
}


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "accounts", parents=[common], allow_abbrev=False, help="system email accounts"
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", parents=[common], allow_abbrev=False, help="every account, as a table"
    )
    listing.set_defaults(run=list_accounts)

    create = actions.add_parser(
        "create",
        parents=[common],
        allow_abbrev=False,
        help="create an account",
        description="The password comes from --password-file, else env "
        f"{PASSWORD_ENV}, else a prompt when stdin is a terminal; never from an option.",
    )
    create.add_argument("account_id", metavar="ID")
    create.add_argument("--email", required=True, help="the account's email address")
    create.add_argument("--name", default="", help="display name")
    create.add_argument("--reply-address", default="")
    create.add_argument(
        "--usage",
        choices=words(pb.AccountUsage),
        help="default: from the servers given (--smtp and --imap/--pop3: send-and-receive)",
    )
    incoming = create.add_mutually_exclusive_group()
    incoming.add_argument("--imap", metavar="HOST:PORT", type=host_port)
    incoming.add_argument("--pop3", metavar="HOST:PORT", type=host_port)
    create.add_argument("--smtp", metavar="HOST:PORT", type=host_port)
    create.add_argument(
        "--security", choices=list(SECURITY), default="ssl", help="of both servers (default ssl)"
    )
    create.add_argument(
        "--username", default="", help="login of both servers (default: the account's address)"
    )
    create.add_argument("--password-file", metavar="PATH")
    create.add_argument("--password", action=RefuseSecret)
    create.add_argument(
        "--no-smtp-auth", action="store_true", help="the SMTP server takes mail without a login"
    )
    create.set_defaults(run=create_account)

    test = actions.add_parser(
        "test",
        parents=[common],
        allow_abbrev=False,
        help="connect to the account's servers, step by step",
    )
    test.add_argument("account_id", metavar="ID")
    test.add_argument(
        "--send-test-email", action="store_true", help="also send a test email to the account"
    )
    test.set_defaults(run=test_account)


def _incoming(account: pb.Account) -> str:
    found = account.incoming
    if found.protocol in (pb.INCOMING_PROTOCOL_UNSPECIFIED, pb.INCOMING_PROTOCOL_NONE):
        return ""
    return f"{word(pb.IncomingProtocol, found.protocol)} {server(found.host, found.port)}"


def _default_account(client: Client) -> str:
    try:
        answer = client.preferences.GetPreferences(preferences_pb2.GetPreferencesRequest())
    except grpc.RpcError:
        return ""  # a nicety of the table: the list is worth showing without it
    return str(answer.preferences.default_account_id)


def list_accounts(client: Client, args: argparse.Namespace, out: Output) -> int:
    found: list[pb.Account] = list(
        client.items(client.accounts.ListAccounts, pb.ListAccountsRequest(page_size=500))
    )
    if out.json_mode:
        out.json([as_dict(a) for a in found])
        return exits.OK
    default = _default_account(client)
    rows = [
        [
            a.account_id,
            a.email_address,
            word(pb.AccountUsage, a.usage),
            _incoming(a),
            server(a.outgoing.host, a.outgoing.port),
            "yes" if a.account_id == default else "",
            a.send_problem.error,
        ]
        for a in found
    ]
    headers = ["ID", "ADDRESS", "USAGE", "INCOMING", "OUTGOING", "DEFAULT", "PROBLEM"]
    out.table(headers, rows)
    return exits.OK


def _password(args: argparse.Namespace) -> str:
    if args.password_file:
        try:
            return Path(args.password_file).read_text().rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            raise exits.UsageError(f"cannot read --password-file {args.password_file}") from None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass(f"password of {args.username or args.email}: ")
    return ""


def _usage(args: argparse.Namespace) -> int:
    if args.usage:
        return value_of(pb.AccountUsage, args.usage)
    receives = bool(args.imap or args.pop3)
    if receives and not args.smtp:
        return pb.ACCOUNT_USAGE_RECEIVE_ONLY
    if args.smtp and not receives:
        return pb.ACCOUNT_USAGE_SEND_ONLY
    return pb.ACCOUNT_USAGE_SEND_AND_RECEIVE


def account_from(args: argparse.Namespace, password: str) -> pb.Account:
    security = SECURITY[args.security]
    account = pb.Account(
        account_id=args.account_id,
        email_address=args.email,
        display_name=args.name,
        reply_address=args.reply_address,
        usage=_usage(args),  # type: ignore[arg-type]
        # Most mail servers log in with the address itself.
        incoming=pb.IncomingServer(username=args.username or args.email, password=password),
    )
    if args.imap or args.pop3:
        host, port = args.imap or args.pop3
        account.incoming.protocol = (
            pb.INCOMING_PROTOCOL_IMAP if args.imap else pb.INCOMING_PROTOCOL_POP3
        )
        account.incoming.host, account.incoming.port = host, port
        account.incoming.security = security
    if args.smtp:
        account.outgoing.host, account.outgoing.port = args.smtp
        account.outgoing.security = security
        account.outgoing.requires_authentication = not args.no_smtp_auth
    return account


def create_account(client: Client, args: argparse.Namespace, out: Output) -> int:
    account = account_from(args, _password(args))
    created = client.accounts.CreateAccount(pb.CreateAccountRequest(account=account)).account
    if out.json_mode:
        out.json(as_dict(created))
    else:
        out.line(f"created account {created.account_id} ({created.email_address})")
    return exits.OK


def test_account(client: Client, args: argparse.Namespace, out: Output) -> int:
    request = pb.TestAccountRequest(
        account_id=args.account_id, send_test_email=args.send_test_email
    )
    with out.spinner(f"testing {args.account_id}"):
        result = client.accounts.TestAccount(request)
    passed = result.ok and all(step.ok for step in result.steps)
    if out.json_mode:
        out.json(as_dict(result))
    else:
        for step in result.steps:
            side = word(pb.TestStepServer, step.server)
            out.line(f"{out.verdict(step.ok)}  {side:<8}  {step.name}  {step.detail}".rstrip())
        out.line("all steps passed" if passed else "some steps failed")
    return exits.OK if passed else exits.FAILED
