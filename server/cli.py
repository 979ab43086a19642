"""The `erpmail` command: serve, sandbox, and dev (both together for local development)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from erpmail.sandbox import cli as sandbox_cli
from erpmail.server.app import ErpmailServer
from erpmail.server.config import DEFAULT_DATA_DIR, DEFAULT_LISTEN, Settings, env_default
from erpmail.server.core import logging as erpmail_logging

EXIT_CANNOT_START = 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="erpmail", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the erpmail gRPC server")
    _add_server_arguments(serve)
    serve.set_defaults(run=_serve)

    sandbox_cli.register(commands)

    dev = commands.add_parser(
        "dev", help="run erpmail and the sandbox together, for local development"
    )
    _add_server_arguments(dev)
    sandbox_cli.add_arguments(dev)
    dev.set_defaults(run=_dev)

    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, None]] = args.run
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(args))
    except OSError as error:
        print(f"erpmail: {error}", file=sys.stderr)
        sys.exit(EXIT_CANNOT_START)


def _add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen",
        default=env_default("LISTEN", DEFAULT_LISTEN),
        help="HOST:PORT for gRPC; port 0 picks a free one (ERPMAIL_LISTEN, default %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env_default("DATA_DIR", DEFAULT_DATA_DIR)),
        help="folder of the database and the secret key (ERPMAIL_DATA_DIR, default %(default)s)",
    )
    parser.add_argument(
        "--secret-key-file",
        type=Path,
        default=_optional_path(env_default("SECRET_KEY_FILE", "")),
        help="key that encrypts mail-server passwords (ERPMAIL_SECRET_KEY_FILE,"
        " default DATA_DIR/secret.key)",
    )
    parser.add_argument(
        "--log-level",
        default=env_default("LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="(ERPMAIL_LOG_LEVEL, default %(default)s)",
    )


def _optional_path(value: str) -> Path | None:
    return Path(value) if value else None


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        listen=args.listen,
        data_dir=args.data_dir,
        secret_key_file=args.secret_key_file,
        log_level=args.log_level,
    )


async def _serve(args: argparse.Namespace) -> None:
    stop = _stop_requested()
    settings = _settings(args)
    erpmail_logging.configure(settings.log_level)
    server = ErpmailServer(settings)
    await server.start()
    print(f"erpmail listening on {server.address}", flush=True)
    await stop.wait()
    await server.stop()


async def _dev(args: argparse.Namespace) -> None:
    stop = _stop_requested()
    settings = _settings(args)
    erpmail_logging.configure(settings.log_level)
    sandbox = await sandbox_cli.start_from_args(args)
    # Whatever stops erpmail (a taken port included) stops the sandbox too: its gRPC server
    # left running would keep the process from ending cleanly.
    try:
        server = ErpmailServer(settings)
        await server.start()
        print(f"erpmail listening on {server.address}", flush=True)
        try:
            await stop.wait()
        finally:
            await server.stop()
    finally:
        await sandbox.stop()


def _stop_requested() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM; installed first, so that a signal that arrives while
    the servers start still stops them cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


if __name__ == "__main__":
    main(sys.argv[1:])
