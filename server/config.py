"""Settings of the erpmail server: flags win over ERPMAIL_* environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from erpmail.server.auth.ratelimit import RateLimit
from erpmail.server.incoming.idle import IdleSettings
from erpmail.server.outgoing.dispatcher import DispatchSettings

DEFAULT_LISTEN = "127.0.0.1:50051"
DEFAULT_DATA_DIR = "data"


@dataclass(frozen=True)
class Settings:
    listen: str = DEFAULT_LISTEN
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    # Kept outside the database so that a copy of the database alone reveals no password.
    secret_key_file: Path | None = None
    log_level: str = "info"
    # Seconds that RPCs in flight get to finish when the server stops.
    shutdown_grace: float = 10.0
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    idle: IdleSettings = field(default_factory=IdleSettings)
    # Seconds between progress messages on a quiet watch stream.
    watch_progress_interval: float = 10.0
    # Off for embedding code and tests; `erpmail serve` turns it on unless --allow-anonymous.
    require_api_keys: bool = False
    # Per API key; applies only when keys are required.
    rate_limit: RateLimit = field(default_factory=RateLimit)
    # TLS for the gRPC endpoint (plain connections are refused when set); with the client CA,
    # callers must present a certificate it signed (mutual TLS).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None

    @property
    def database_path(self) -> Path:
        return self.data_dir / "erpmail.sqlite3"

    @property
    def key_path(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"


def env_default(name: str, default: str) -> str:
    return os.environ.get(f"ERPMAIL_{name}", default)
