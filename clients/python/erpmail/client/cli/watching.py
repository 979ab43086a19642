"""`watch`: live changes to email, one line each; and following one email until it ends."""

from __future__ import annotations

import argparse
from typing import Any

from erpmail.client import Client, watch
from erpmail.client.cli import exits
from erpmail.client.cli.common import positive_int
from erpmail.client.cli.formats import comma_list, shown, value_of, when, word, words
from erpmail.client.cli.output import Output, as_dict, truncate
from erpmail.v1 import accounts_pb2
from erpmail.v1 import emails_pb2 as pb

FINAL = frozenset({pb.EMAIL_STATUS_PROCESSED, pb.EMAIL_STATUS_FAILED})


def _statuses(text: str) -> list[int]:
    known = words(pb.EmailStatus)
    chosen = comma_list(text)
    for name in chosen:
        if name not in known:
            raise argparse.ArgumentTypeError(f"{name!r} is not one of {', '.join(known)}")
    return [value_of(pb.EmailStatus, name) for name in chosen]


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "watch",
        parents=[common],
        allow_abbrev=False,
        help="print changes to email as they happen, until Ctrl-C",
        description="Follows EmailService.WatchEmails, resuming after the last change seen when "
        "the connection breaks. Ctrl-C ends it with exit code 0.",
    )
    parser.add_argument("--account", default="", help="only this account's email")
    parser.add_argument(
        "--status",
        action="append",
        type=_statuses,
        metavar="STATUS,...",
        help=f"only changes into these ({', '.join(words(pb.EmailStatus))})",
    )
    parser.add_argument("--direction", choices=words(pb.EmailDirection))
    parser.add_argument(
        "--current", action="store_true", help="begin with the matching emails as they are now"
    )
    parser.add_argument("--count", type=positive_int, metavar="N", help="stop after N changes")
    parser.set_defaults(run=watch_emails)


def change_line(change: pb.EmailChange) -> str:
    email = change.email
    parts = [
        when(change.change_time),
        email.email_id,
        word(pb.EmailStatus, email.status),
        word(pb.EmailDirection, email.direction),
        email.account_id,
        truncate(shown(email.to), 40),
        truncate(email.subject, 50),
    ]
    if email.status == pb.EMAIL_STATUS_FAILED and email.error:
        parts.append(f"({truncate(email.error, 80)})")
    return "  ".join(parts)


def watch_emails(client: Client, args: argparse.Namespace, out: Output) -> int:
    request = pb.WatchEmailsRequest(
        account_id=args.account,
        statuses=[s for group in args.status or () for s in group],
        include_current=args.current,
    )
    if args.direction:
        request.direction = value_of(pb.EmailDirection, args.direction)  # type: ignore[assignment]
    # The stream itself would wait for an unreachable server for ever, resuming; a plain call
    # first turns a wrong address or key into its exit code at once.
    client.accounts.ListAccounts(accounts_pb2.ListAccountsRequest(page_size=1))
    seen = 0
    try:
        for change in client.follow_emails(request):
            if out.json_mode:
                out.json(as_dict(change), compact=True)
            else:
                out.line(change_line(change))
            seen += 1
            if args.count is not None and seen >= args.count:
                break
    except KeyboardInterrupt:
        pass  # the way to stop watching, not a failure
    return exits.OK


class Waiter:
    """Follows outgoing email until one ends (processed or failed).

    Open it before the email is created: the watch stream then already runs when the email
    changes, and a change made before the server had set the stream up is still found, because
    the email is also read once the watch begins and at each of the stream's progress messages.
    """

    def __init__(self, client: Client, account_id: str = "") -> None:
        self._client = client
        request = pb.WatchEmailsRequest(
            account_id=account_id, direction=pb.EMAIL_DIRECTION_OUTGOING
        )
        self._cursor = watch.EmailCursor(request)
        self._opened: Any = client.emails.WatchEmails(self._cursor.request())

    def _start(self, request: pb.WatchEmailsRequest) -> Any:
        if self._opened is not None:  # the first connection, opened in __init__
            opened, self._opened = self._opened, None
            return opened
        return self._client.emails.WatchEmails(request)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.cancel()

    def _current(self, email_id: str) -> pb.Email:
        request = pb.GetEmailRequest(email_id=email_id)
        found: pb.Email = self._client.emails.GetEmail(request).email
        return found

    def until_final(self, email: pb.Email, out: Output) -> pb.Email:
        """The email once it is processed or failed, as GetEmail returns it."""
        email_id = email.email_id
        with out.spinner(f"email {email_id}: {word(pb.EmailStatus, email.status)}") as spinner:
            latest = self._current(email_id)
            if latest.status in FINAL:
                return latest
            for response in watch.follow_sync(self._start, self._cursor):
                if response.HasField("change"):
                    changed = response.change.email
                    if changed.email_id != email_id:
                        continue
                    spinner.update(f"email {email_id}: {word(pb.EmailStatus, changed.status)}")
                    if changed.status not in FINAL:
                        continue
                latest = self._current(email_id)
                if latest.status in FINAL:
                    return latest
        raise AssertionError("the watch stream never ends on its own")
