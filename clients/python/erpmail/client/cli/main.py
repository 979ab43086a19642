"""erpmailctl: erpmail's command line for people (and the scripts they write).

Global options go before or after the command: `erpmailctl --json mail list` and
`erpmailctl mail list --json` are the same. The server's address, the API key and the acting
user also come from ERPMAIL_ADDRESS, ERPMAIL_API_KEY and ERPMAIL_ACTOR; the key is never taken
as an option's value, which every user of the machine could read in the process list.

The exit codes scripts rely on are listed once, in exits.py (and shown by --help).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
from erpmail.client import Client, ClientOptions, Tls, error_details
from erpmail.client.cli import accounts, exits, mail, runs, sending, watching
from erpmail.client.cli.common import Parser, global_options
from erpmail.client.cli.output import Output

WATCH = "watch"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="erpmailctl",
        allow_abbrev=False,  # else --api-key would be taken as --api-key-file's abbreviation
        description="Manage erpmail: accounts, sending, mail lists, live changes and runs.",
        epilog=exits.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    global_options(parser, below=False)
    common = Parser(add_help=False, allow_abbrev=False)
    global_options(common, below=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (accounts, sending, mail, watching, runs):
        module.add_commands(commands, common)
    return parser


def _read_key(path: str) -> str:
    try:
        key = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise exits.UsageError(f"cannot read --api-key-file {path}: {_reason(error)}") from None
    if not key:
        raise exits.UsageError(f"--api-key-file {path} is empty")
    return key


def _reason(error: Exception) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__


def client_options(args: argparse.Namespace) -> ClientOptions:
    tls = None
    if args.tls or args.tls_ca or args.tls_cert or args.tls_key:
        if bool(args.tls_cert) != bool(args.tls_key):
            raise exits.UsageError("--tls-cert and --tls-key go together")
        try:
            tls = Tls.from_files(args.tls_ca, args.tls_cert, args.tls_key)
        except OSError as error:
            raise exits.UsageError(f"cannot read {error.filename}: {_reason(error)}") from None
    return ClientOptions.from_env(
        address=args.address,
        api_key=_read_key(args.api_key_file) if args.api_key_file else None,
        actor=args.actor,
        tls=tls,
        timeout=args.timeout,
    )


def report(out: Output, error: grpc.RpcError, address: str) -> int:
    details = error_details(error)
    out.error(exits.describe(details))
    code = exits.exit_code(details.code)
    if code == exits.UNREACHABLE:
        out.error(f"is erpmail running at {address}? (--address, ERPMAIL_ADDRESS)")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Output(args.json, args.no_color)
    try:
        options = client_options(args)
        with Client(options) as client:
            code: int = args.run(client, args, out)
            return code
    except exits.UsageError as error:
        out.error(str(error))
        return exits.USAGE
    except grpc.RpcError as error:
        return report(out, error, options.address)
    except KeyboardInterrupt:
        return exits.OK if args.command == WATCH else exits.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and nowhere to say it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.OK
