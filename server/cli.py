"""The `erpmail` command: serve, sandbox, and dev (both together for local development)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from erpmail.sandbox import cli as sandbox_cli
from erpmail.server.app import ErpmailServer
from erpmail.server.auth import commands as auth_cli
from erpmail.server.auth.ratelimit import RateLimit
from erpmail.server.config import DEFAULT_DATA_DIR, DEFAULT_LISTEN, Settings, env_default
from erpmail.server.core import logging as erpmail_logging

EXIT_CANNOT_START = 2
log = logging.getLogger("erpmail.cli")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="erpmail", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the erpmail gRPC server")
    _add_server_arguments(serve)
    serve.add_argument(
        "--allow-anonymous",
        action="store_true",
        help="serve without API keys: every caller is an admin (never on a shared network)",
    )
    serve.set_defaults(run=_serve)

    sandbox_cli.register(commands)

    dev = commands.add_parser(
        "dev", help="run erpmail and the sandbox together, for local development"
    )
    _add_server_arguments(dev)
    sandbox_cli.add_arguments(dev)
    dev.set_defaults(run=_dev)

    auth_cli.register(commands)

    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, None]] = args.run
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(args))
    except OSError as error:
        print(f"erpmail: {error}", file=sys.stderr)
        sys.exit(EXIT_CANNOT_START)
    except auth_cli.CommandError as error:
        print(f"erpmail: {error}", file=sys.stderr)
        sys.exit(1)


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
    parser.add_argument("--tls-cert", type=Path, help="PEM server certificate: serve over TLS")
    parser.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    parser.add_argument(
        "--tls-client-ca",
        type=Path,
        help="PEM CA: require client certificates it signed (mutual TLS)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=float(env_default("RATE_LIMIT", str(RateLimit.per_second))),
        help="calls per second per API key (ERPMAIL_RATE_LIMIT, default %(default)s)",
    )
    parser.add_argument(
        "--rate-burst",
        type=int,
        default=int(env_default("RATE_BURST", str(RateLimit.burst))),
        help="calls at once per API key (ERPMAIL_RATE_BURST, default %(default)s)",
    )


def _optional_path(value: str) -> Path | None:
    return Path(value) if value else None


def _settings(args: argparse.Namespace, require_api_keys: bool) -> Settings:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise auth_cli.CommandError("--tls-cert and --tls-key go together")
    if args.tls_client_ca is not None and args.tls_cert is None:
        raise auth_cli.CommandError("--tls-client-ca needs --tls-cert and --tls-key")
    return Settings(
        listen=args.listen,
        data_dir=args.data_dir,
        secret_key_file=args.secret_key_file,
        log_level=args.log_level,
        require_api_keys=require_api_keys,
        rate_limit=RateLimit(per_second=args.rate_limit, burst=args.rate_burst),
        tls_cert_file=args.tls_cert,
        tls_key_file=args.tls_key,
        tls_client_ca_file=args.tls_client_ca,
    )


async def _serve(args: argparse.Namespace) -> None:
    stop = _stop_requested()
    settings = _settings(args, require_api_keys=not args.allow_anonymous)
    erpmail_logging.configure(settings.log_level)
    if args.allow_anonymous:
        log.warning("NO API KEYS REQUIRED (--allow-anonymous): every caller is an admin")
    server = ErpmailServer(settings)
    await server.start()
    print(f"erpmail listening on {server.address}", flush=True)
    await stop.wait()
    await server.stop()


async def _dev(args: argparse.Namespace) -> None:
    stop = _stop_requested()
    settings = _settings(args, require_api_keys=False)
    erpmail_logging.configure(settings.log_level)
    log.warning("DEVELOPMENT SERVER: no API keys required, every caller is an admin")
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
