"""`run send|receive|all`: ManagementService.RunSendReceive, with a table of each account's part.

One call for the whole run rather than one per account: the server runs accounts in parallel
(faster than one after another), and which accounts take part in "send" or "receive" is its
rule, which the command line should not copy. So a terminal gets a spinner with the elapsed time
while the run lasts, not a bar counting accounts.
"""

from __future__ import annotations

import argparse
from typing import Any

from erpmail.client import Client
from erpmail.client.cli import exits
from erpmail.client.cli.output import Output, as_dict
from erpmail.v1 import management_pb2 as pb

ACTIONS = {
    "send": pb.SEND_RECEIVE_ACTION_SEND_ALL,
    "receive": pb.SEND_RECEIVE_ACTION_RECEIVE_ALL,
    "all": pb.SEND_RECEIVE_ACTION_SEND_AND_RECEIVE_ALL,
}


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "run",
        parents=[common],
        allow_abbrev=False,
        help="send pending email and/or receive new mail now",
        description="Runs send, receive or both now, on the accounts named or on every account "
        "that sends (receives). Exit code 1 when any account reported an error.",
    )
    parser.add_argument("action", choices=list(ACTIONS))
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="ID",
        help="repeatable; default: every account the action fits",
    )
    parser.set_defaults(run=run_send_receive)


def _count(part: Any, name: str, present: bool) -> str:
    return str(getattr(part, name)) if present else ""


def report_row(report: pb.AccountRunReport) -> list[str]:
    send, receive = report.HasField("send"), report.HasField("receive")
    errors = [
        f"{what}: {part.error}"
        for what, part, present in (
            ("send", report.send, send),
            ("receive", report.receive, receive),
            ("archive", report.archive, report.HasField("archive")),
        )
        if present and part.error
    ]
    return [
        report.account_id,
        "ok" if report.ok else "FAIL",
        _count(report.send, "sent", send),
        _count(report.send, "failed", send),
        _count(report.send, "pending", send),
        _count(report.receive, "fetched", receive),
        _count(report.receive, "stored", receive),
        _count(report.archive, "archived", report.HasField("archive")),
        "; ".join(errors),
    ]


HEADERS = [
    "ACCOUNT",
    "RESULT",
    "SENT",
    "FAILED",
    "PENDING",
    "FETCHED",
    "STORED",
    "ARCHIVED",
    "ERROR",
]


def run_send_receive(client: Client, args: argparse.Namespace, out: Output) -> int:
    request = pb.RunSendReceiveRequest(action=ACTIONS[args.action], account_ids=args.account)
    with out.spinner(f"running {args.action}"):
        result = client.management.RunSendReceive(request)
    if out.json_mode:
        out.json(as_dict(result))
    else:
        out.table(HEADERS, [report_row(r) for r in result.reports])
    return exits.OK if all(r.ok for r in result.reports) else exits.FAILED
