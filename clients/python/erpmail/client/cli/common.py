"""The options every command takes, before or after it, and options refused for holding secrets."""

from __future__ import annotations

import argparse
from typing import NoReturn

UNRECOGNIZED = "unrecognized arguments: "
INVALID_CHOICE = "invalid choice: "


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


class Parser(argparse.ArgumentParser):
    """argparse, but an unknown option's value is not repeated: `--pass hunter2` may be a
    secret typed under the wrong name."""

    def error(self, message: str) -> NoReturn:
        if message.startswith(UNRECOGNIZED):
            words = message.removeprefix(UNRECOGNIZED).split()
            names = [w.split("=", 1)[0] for w in words if w.startswith("-")]
            message = UNRECOGNIZED + " ".join(names or ["(values not shown)"])
        elif INVALID_CHOICE in message:
            # `--pasword hunter2 accounts list` reads the secret as the command's name.
            head, _, tail = message.partition(INVALID_CHOICE)
            choices = tail[tail.find(" (") :] if " (" in tail else ""
            message = head + "invalid choice (the word given is not shown)" + choices
        super().error(message)


class RefuseSecret(argparse.Action):
    """An option that would put a secret in the process list: refused, without repeating its
    value (argparse's own "unrecognized arguments" message would print it)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        # One value, so that the secret is taken here and never read as a command's name.
        super().__init__(option_strings, dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        hint = "--api-key-file or ERPMAIL_API_KEY" if "key" in self.dest else "a file or the env"
        parser.error(f"{option_string} takes no secret on the command line: use {hint}")


def global_options(parser: argparse.ArgumentParser, *, below: bool) -> None:
    """The options every command takes. Below the top level they default to SUPPRESS, so that
    an option given before the command is not reset by the command's own parser."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if below else value

    group = parser.add_argument_group("connection and output (before or after the command)")
    group.add_argument(
        "--address",
        default=default(None),
        help="erpmail's gRPC address (env ERPMAIL_ADDRESS, default 127.0.0.1:50051)",
    )
    group.add_argument(
        "--api-key-file",
        metavar="PATH",
        default=default(None),
        help="read the API key from this file (else env ERPMAIL_API_KEY)",
    )
    group.add_argument("--api-key", action=RefuseSecret)
    group.add_argument("--actor", default=default(None), help="the acting user (env ERPMAIL_ACTOR)")
    group.add_argument(
        "--tls",
        action="store_true",
        default=default(False),
        help="connect over TLS, trusting the system's roots",
    )
    group.add_argument(
        "--tls-ca", metavar="PEM", default=default(None), help="connect over TLS, trusting this CA"
    )
    group.add_argument(
        "--tls-cert", metavar="PEM", default=default(None), help="client certificate for mutual TLS"
    )
    group.add_argument(
        "--tls-key", metavar="PEM", default=default(None), help="the client certificate's key"
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=default(None),
        help="deadline of each call (default 30)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="machine output: one JSON document (watch: one object a line)",
    )
    group.add_argument(
        "--no-color",
        action="store_true",
        default=default(False),
        help="plain output (also when stdout is not a terminal, or NO_COLOR)",
    )
