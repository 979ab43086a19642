"""`mail list|search|show` and `process`: the email lists, one email, manual processing."""

from __future__ import annotations

import argparse
import itertools
from typing import Any

from erpmail.client import Client
from erpmail.client.cli import exits
from erpmail.client.cli.common import positive_int
from erpmail.client.cli.formats import shown, value_of, when, word, words
from erpmail.client.cli.output import Output, as_dict
from erpmail.v1 import emails_pb2 as pb

LIMIT = 50
PAGE_MOST = 500


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--view", choices=words(pb.EmailView), default="all", help="which list (default all)"
    )
    parser.add_argument("--account", default="", help="only this account's email")
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=LIMIT,
        metavar="N",
        help=f"at most N emails, newest first (default {LIMIT})",
    )
    parser.set_defaults(run=list_emails)


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "mail", parents=[common], allow_abbrev=False, help="email lists and single emails"
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", parents=[common], allow_abbrev=False, help="a list of email, as a table"
    )
    listing.add_argument("--query", default="", help='full-text search: words, "phrases", pre*')
    _list_options(listing)
    search = actions.add_parser(
        "search", parents=[common], allow_abbrev=False, help="mail list --query QUERY"
    )
    search.add_argument("query", metavar="QUERY")
    _list_options(search)
    show = actions.add_parser(
        "show", parents=[common], allow_abbrev=False, help="one email with its attempts"
    )
    show.add_argument("email_id", metavar="ID")
    show.set_defaults(run=show_email)

    process = commands.add_parser(
        "process",
        parents=[common],
        allow_abbrev=False,
        help="one sending attempt now for the emails named, or all pending ones of --account",
    )
    process.add_argument("email_ids", nargs="*", metavar="EMAIL_ID")
    process.add_argument("--account", default="", help="with no EMAIL_ID: its pending email")
    process.add_argument(
        "--include-failed", action="store_true", help="with --account: failed email too"
    )
    process.set_defaults(run=process_emails)


def _sender(email: pb.Email) -> str:
    sender: pb.Address = getattr(email, "from")  # a Python keyword, so no attribute syntax
    return shown([sender]) if sender.address else ""


def email_row(email: pb.Email) -> list[str]:
    return [
        email.email_id,
        word(pb.EmailStatus, email.status),
        word(pb.EmailDirection, email.direction),
        email.account_id,
        _sender(email),
        shown(email.to),
        email.subject,
        when(email.sent_time) or when(email.create_time),
    ]


EMAIL_HEADERS = ["ID", "STATUS", "DIRECTION", "ACCOUNT", "FROM", "TO", "SUBJECT", "TIME"]


def list_emails(client: Client, args: argparse.Namespace, out: Output) -> int:
    request = pb.ListEmailsRequest(
        view=value_of(pb.EmailView, args.view),  # type: ignore[arg-type]
        account_id=args.account,
        query=args.query,
        page_size=min(args.limit, PAGE_MOST),
    )
    found: list[pb.Email] = list(
        itertools.islice(client.items(client.emails.ListEmails, request), args.limit)
    )
    if out.json_mode:
        out.json([as_dict(e) for e in found])
    else:
        out.table(EMAIL_HEADERS, [email_row(e) for e in found])
    return exits.OK


def _without_contents(email: pb.Email) -> pb.Email:
    for attachment in email.attachments:
        attachment.ClearField("content")  # the size says enough; contents are not for a terminal
    return email


def show_email(client: Client, args: argparse.Namespace, out: Output) -> int:
    email = _without_contents(
        client.emails.GetEmail(pb.GetEmailRequest(email_id=args.email_id)).email
    )
    if out.json_mode:
        out.json(as_dict(email))
        return exits.OK
    fields = [
        ("id", email.email_id),
        ("status", word(pb.EmailStatus, email.status)),
        ("direction", word(pb.EmailDirection, email.direction)),
        ("account", email.account_id),
        ("from", _sender(email)),
        ("to", shown(email.to)),
        ("cc", shown(email.cc)),
        ("bcc", shown(email.bcc)),
        ("subject", email.subject),
        ("created", when(email.create_time)),
        ("sent", when(email.sent_time)),
        ("next attempt", when(email.next_attempt_time)),
        ("message-id", email.message_id),
        ("error", email.error),
    ]
    for name, value in fields:
        if value:
            out.line(f"{name + ':':<14}{value}")
    for attachment in email.attachments:
        out.line(f"{'attachment:':<14}{attachment.file_name} ({attachment.size} bytes)")
    if email.recipients:
        out.line()
        out.table(
            ["RECIPIENT", "KIND", "STATUS", "REPLY"],
            [
                [
                    r.address,
                    word(pb.RecipientKind, r.kind),
                    word(pb.RecipientStatus, r.status),
                    f"{r.reply_code or ''} {r.enhanced_status} {r.reply_text}".strip(),
                ]
                for r in email.recipients
            ],
        )
    if email.attempts:
        out.line()
        out.table(
            ["ATTEMPT", "STEP", "OUTCOME", "REPLY"],
            [
                [
                    when(a.time) + (" (manual)" if a.manual else ""),
                    word(pb.SendStep, a.step),
                    word(pb.AttemptOutcome, a.outcome),
                    f"{a.reply_code or ''} {a.enhanced_status} {a.reply_text}".strip(),
                ]
                for a in email.attempts
            ],
        )
    if email.text_body:
        out.line()
        out.line(email.text_body.rstrip("\n"))
    return exits.OK


def process_emails(client: Client, args: argparse.Namespace, out: Output) -> int:
    request = pb.ProcessEmailsRequest(
        email_ids=args.email_ids, account_id=args.account, include_failed=args.include_failed
    )
    with out.spinner("processing"):
        processed = list(client.emails.ProcessEmails(request).emails)
    if out.json_mode:
        out.json([as_dict(e) for e in processed])
    else:
        out.table(
            ["ID", "STATUS", "ACCOUNT", "TO", "ERROR"],
            [
                [e.email_id, word(pb.EmailStatus, e.status), e.account_id, shown(e.to), e.error]
                for e in processed
            ],
        )
    failed = any(e.status == pb.EMAIL_STATUS_FAILED for e in processed)
    return exits.FAILED if failed else exits.OK
