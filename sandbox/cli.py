"""`erpmail sandbox`: the sandbox on its own until SIGINT/SIGTERM; its flags are shared with
`erpmail dev`, which runs it next to the erpmail server.

Every flag has an ERPMAIL_SANDBOX_* environment default (the flag's name in capitals, dashes as
underscores; ERPMAIL_SANDBOX_MAILBOXES takes ADDRESS:PASSWORD entries separated by commas).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from erpmail.sandbox.app import (
    DEFAULT_HOST,
    DEFAULT_PORTS,
    LISTENERS,
    MailboxSpec,
    Sandbox,
    SandboxConfig,
    SandboxStartError,
)
from erpmail.sandbox.faults import Rule, load_rules, parse_rule_spec
from erpmail.sandbox.smtp.settings import DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_RECIPIENTS

ENV_PREFIX = "ERPMAIL_SANDBOX_"
# What `erpmail dev` creates unless told otherwise, so a developer can log in at once.
DEV_MAILBOX = "erp@sandbox.test:erp-sandbox"
_SECURITY = {
    "smtp": "STARTTLS",
    "smtps": "TLS",
    "imap": "STARTTLS",
    "imaps": "TLS",
    "pop3": "STLS",
    "pop3s": "TLS",
    "control": "gRPC",
}
_TRUE = {"1", "true", "yes", "on"}


def register(commands: Any) -> None:
    """Adds the `sandbox` command to an argparse subparsers object."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "sandbox",
        help="run the SMTP/IMAP/POP3 sandbox with its gRPC control service",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, default_mailboxes=())
    parser.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="(ERPMAIL_SANDBOX_LOG_LEVEL, default %(default)s)",
    )
    parser.set_defaults(run=run)


def add_arguments(
    parser: argparse.ArgumentParser, *, default_mailboxes: Sequence[str] = (DEV_MAILBOX,)
) -> None:
    """Adds the sandbox's flags. Their dests all start with `sandbox_` so that they can share a
    parser with other flags. --mailbox defaults to `default_mailboxes` (or
    ERPMAIL_SANDBOX_MAILBOXES)."""
    group = parser.add_argument_group("sandbox")
    group.add_argument(
        "--host",
        dest="sandbox_host",
        default=_env("HOST", DEFAULT_HOST),
        metavar="HOST",
        help="address the sandbox listens on (ERPMAIL_SANDBOX_HOST, default %(default)s)",
    )
    for name in LISTENERS:
        group.add_argument(
            f"--{name}-port",
            dest=f"sandbox_{name}_port",
            type=_port,
            default=_env(f"{name.upper()}_PORT", str(DEFAULT_PORTS[name])),
            metavar="PORT",
            help=f"{name} port, 0 picks a free one "
            f"(ERPMAIL_SANDBOX_{name.upper()}_PORT, default %(default)s)",
        )
    group.add_argument(
        "--store-dir",
        dest="sandbox_store_dir",
        type=Path,
        default=_env("STORE_DIR", "") or None,
        metavar="DIR",
        help="keep mailboxes and messages in DIR across restarts; in memory when not given "
        "(ERPMAIL_SANDBOX_STORE_DIR)",
    )
    group.add_argument(
        "--auth-required",
        dest="sandbox_auth_required",
        action="store_true",
        default=_env("AUTH_REQUIRED", "").lower() in _TRUE,
        help="SMTP accepts mail only after AUTH (ERPMAIL_SANDBOX_AUTH_REQUIRED=1)",
    )
    group.add_argument(
        "--max-message-size",
        dest="sandbox_max_message_size",
        type=_positive,
        default=_env("MAX_MESSAGE_SIZE", str(DEFAULT_MAX_MESSAGE_SIZE)),
        metavar="BYTES",
        help="largest message SMTP accepts (ERPMAIL_SANDBOX_MAX_MESSAGE_SIZE, default %(default)s)",
    )
    group.add_argument(
        "--max-recipients",
        dest="sandbox_max_recipients",
        type=_positive,
        default=_env("MAX_RECIPIENTS", str(DEFAULT_MAX_RECIPIENTS)),
        metavar="N",
        help="most recipients per message (ERPMAIL_SANDBOX_MAX_RECIPIENTS, default %(default)s)",
    )
    env_mailboxes = [m.strip() for m in _env("MAILBOXES", "").split(",") if m.strip()]
    group.add_argument(
        "--mailbox",
        dest="sandbox_mailboxes",
        type=_mailbox,
        action="append",
        metavar="ADDRESS:PASSWORD",
        help="create this mailbox at start; repeatable (ERPMAIL_SANDBOX_MAILBOXES, "
        f"default {', '.join(env_mailboxes or default_mailboxes) or 'none'})",
    )
    # Parsed in config_from_args, so that a bad environment value fails only this command.
    parser.set_defaults(sandbox_mailbox_defaults=list(env_mailboxes or default_mailboxes))
    group.add_argument(
        "--faults",
        dest="sandbox_fault_file",
        type=_fault_file,
        default=_env("FAULTS", "") or None,
        metavar="FILE",
        help="load fault rules from a JSON file (ERPMAIL_SANDBOX_FAULTS)",
    )
    group.add_argument(
        "--fault",
        dest="sandbox_fault_specs",
        type=_fault_spec,
        action="append",
        default=[],
        metavar="SPEC",
        help='add a fault rule, such as "smtp.rcpt_to recipient=bad@example.com reply=550"; '
        "repeatable, tried after those of --faults",
    )
    group.add_argument(
        "--cert-out",
        dest="sandbox_cert_out",
        type=Path,
        default=_env("CERT_OUT", "") or None,
        metavar="FILE",
        help="write the sandbox's certificate (PEM) to FILE for clients to trust "
        "(ERPMAIL_SANDBOX_CERT_OUT)",
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    rules: list[Rule] = [*(args.sandbox_fault_file or ()), *args.sandbox_fault_specs]
    mailboxes: list[MailboxSpec] = args.sandbox_mailboxes
    if mailboxes is None:
        try:
            mailboxes = [_mailbox(text) for text in args.sandbox_mailbox_defaults]
        except argparse.ArgumentTypeError as error:
            raise SystemExit(f"erpmail sandbox: {ENV_PREFIX}MAILBOXES: {error}") from None
    return SandboxConfig(
        host=args.sandbox_host,
        **{f"{name}_port": getattr(args, f"sandbox_{name}_port") for name in LISTENERS},
        store_dir=args.sandbox_store_dir,
        auth_required=args.sandbox_auth_required,
        max_message_size=args.sandbox_max_message_size,
        max_recipients=args.sandbox_max_recipients,
        fault_rules=rules,
        mailboxes=mailboxes,
        cert_out=args.sandbox_cert_out,
    )


async def start_from_args(args: argparse.Namespace) -> Sandbox:
    """Starts a sandbox as the flags say and prints where it listens; exits on failure."""
    sandbox = Sandbox(config_from_args(args))
    try:
        await sandbox.start()
    except SandboxStartError as error:
        raise SystemExit(f"erpmail sandbox: {error}") from None
    print(describe(sandbox), flush=True)
    return sandbox


def describe(sandbox: Sandbox) -> str:
    """The lines printed at start: mailboxes created, files, then one line per listener with the
    control service last (a reader knows the description is complete when it sees it)."""
    host = sandbox.host
    lines = [f"erpmail sandbox on {host}"]
    for spec in sandbox.config.mailboxes:
        mailbox = sandbox.store.mailbox_for_address(spec.address)
        if mailbox is not None:
            lines.append(
                f"  mailbox  {mailbox.address}  user {mailbox.username}  "
                f"password {mailbox.password}"
            )
    if sandbox.config.cert_out is not None:
        lines.append(f"  certificate  {sandbox.config.cert_out}")
    if sandbox.config.store_dir is not None:
        lines.append(f"  store  {sandbox.config.store_dir}")
    for name in LISTENERS:
        lines.append(f"  {name:<8} {host}:{sandbox.ports[name]:<6} {_SECURITY[name]}")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    """`erpmail sandbox`: serves until SIGINT or SIGTERM, then stops cleanly."""
    from erpmail.server.core import logging as erpmail_logging

    erpmail_logging.configure(args.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    # Handlers first: a signal that comes as soon as the ports are printed still stops cleanly.
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        sandbox = await start_from_args(args)
        try:
            await stop.wait()
        finally:
            await sandbox.stop()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    print("erpmail sandbox stopped", flush=True)


# -- flag values -----------------------------------------------------------------------------


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {port}")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _mailbox(text: str) -> MailboxSpec:
    # The password may contain ':', an address may not.
    address, separator, password = text.partition(":")
    if not separator or "@" not in address or not password:
        raise argparse.ArgumentTypeError(f"expected ADDRESS:PASSWORD, got {text!r}")
    return MailboxSpec(address.strip(), password)


def _fault_file(text: str) -> list[Rule]:
    try:
        return load_rules(text)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {error.strerror}") from None
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text}: {error}") from None


def _fault_spec(text: str) -> Rule:
    try:
        return parse_rule_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
