"""`send` and `send-template`: queue an email, print its id, and with --wait follow it until it
is processed (exit 0) or failed (exit 1)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from erpmail.client import Client
from erpmail.client.cli import exits
from erpmail.client.cli.formats import addresses, word
from erpmail.client.cli.output import Output, as_dict
from erpmail.client.cli.watching import Waiter
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import mailings_pb2
from google.protobuf import struct_pb2

WAIT_HELP = "follow the email until it is processed (exit 0) or failed (exit 1)"


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    send = commands.add_parser("send", parents=[common], allow_abbrev=False, help="send an email")
    send.add_argument("--account", default="", help="default: the preferences' default account")
    send.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="ADDRESS",
        help="repeatable; 'Name <address>' or comma-separated addresses",
    )
    send.add_argument("--cc", action="append", metavar="ADDRESS")
    send.add_argument("--bcc", action="append", metavar="ADDRESS")
    send.add_argument("--subject", default="")
    body = send.add_mutually_exclusive_group()
    body.add_argument("--body", help="the text body")
    body.add_argument("--body-file", metavar="PATH", help="the text body from a file ('-': stdin)")
    send.add_argument("--html-file", metavar="PATH", help="the HTML body from a file")
    send.add_argument("--attach", action="append", metavar="FILE", help="repeatable")
    send.add_argument("--wait", action="store_true", help=WAIT_HELP)
    send.set_defaults(run=send_email)

    template = commands.add_parser(
        "send-template",
        parents=[common],
        allow_abbrev=False,
        help="send an email made from a stored template",
    )
    template.add_argument("template_id", metavar="TEMPLATE_ID")
    template.add_argument(
        "--data",
        default="{}",
        metavar="JSON|@FILE",
        help="the place-holders' values: a JSON object, or @file.json",
    )
    template.add_argument("--account", default="", help="default: the template's account")
    template.add_argument(
        "--to", action="append", metavar="ADDRESS", help="recipients added to the template's"
    )
    template.add_argument(
        "--lenient", action="store_true", help="a place-holder without a value writes nothing"
    )
    template.add_argument("--wait", action="store_true", help=WAIT_HELP)
    template.set_defaults(run=send_template)


def _read(path: str, what: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        raise exits.UsageError(f"cannot read {what} {path}: {error.strerror}") from None


def _text(path: str, what: str) -> str:
    try:
        return _read(path, what).decode()
    except UnicodeDecodeError:
        raise exits.UsageError(f"{what} {path} is not UTF-8 text") from None


def email_from(args: argparse.Namespace) -> pb.Email:
    email = pb.Email(
        account_id=args.account,
        to=addresses(args.to),
        cc=addresses(args.cc),
        bcc=addresses(args.bcc),
        subject=args.subject,
        text_body=args.body if args.body is not None else "",
    )
    if args.body_file:
        email.text_body = _text(args.body_file, "--body-file")
    if args.html_file:
        email.html_body = _text(args.html_file, "--html-file")
    for path in args.attach or ():
        email.attachments.add(file_name=Path(path).name, content=_read(path, "--attach"))
    return email


def _data(text: str) -> struct_pb2.Struct:
    source = _text(text[1:], "--data") if text.startswith("@") else text
    try:
        value = json.loads(source)
    except json.JSONDecodeError as error:
        raise exits.UsageError(f"--data is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise exits.UsageError("--data must be a JSON object")
    data = struct_pb2.Struct()
    data.update(value)
    return data


@contextmanager
def _waiting(client: Client, args: argparse.Namespace) -> Iterator[Waiter | None]:
    """With --wait, the watch is open before the email exists (see Waiter)."""
    if not args.wait:
        yield None
        return
    waiter = Waiter(client, args.account)
    try:
        yield waiter
    finally:
        waiter.close()


def finish(email: pb.Email, waiter: Waiter | None, out: Output) -> int:
    """Prints the queued email (and, waiting, how it ended); the exit code."""
    if not out.json_mode:
        out.line(email.email_id)
    wait = waiter is not None
    if waiter is not None:
        email = waiter.until_final(email, out)
    if out.json_mode:
        out.json(as_dict(email))
    elif wait:
        out.line(word(pb.EmailStatus, email.status))
    if wait and email.status == pb.EMAIL_STATUS_FAILED:
        out.error(f"email {email.email_id} failed: {email.error or 'no reason given'}")
        return exits.FAILED
    return exits.OK


def send_email(client: Client, args: argparse.Namespace, out: Output) -> int:
    request = pb.CreateEmailRequest(email=email_from(args), submit=True)
    with _waiting(client, args) as waiter:
        (created, *_) = client.emails.CreateEmail(request).emails
        return finish(created, waiter, out)


def send_template(client: Client, args: argparse.Namespace, out: Output) -> int:
    request = mailings_pb2.SendTemplateEmailRequest(
        template_id=args.template_id,
        data=_data(args.data),
        account_id=args.account,
        extra_to=addresses(args.to),
        lenient=args.lenient,
    )
    with _waiting(client, args) as waiter:
        sent = client.mailings.SendTemplateEmail(request).email
        return finish(sent, waiter, out)
