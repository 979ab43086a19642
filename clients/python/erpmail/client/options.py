"""How to reach erpmail: address, transport security, API key, acting user, deadlines, retries."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from erpmail.client.calls import RetryPolicy, service_config

DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0
# The largest message erpmail sends or takes (its server's limit).
MAX_REQUEST_BYTES = 64 * 1024 * 1024
AUTHORIZATION_KEY = "authorization"
ACTOR_KEY = "x-erpmail-actor"


@dataclass(frozen=True)
class Tls:
    """Verify erpmail's certificate against `ca` (PEM; None: the system's roots), and present a
    client certificate when the server asks for mutual TLS."""

    ca: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = None

    @classmethod
    def from_files(
        cls,
        ca: str | Path | None = None,
        cert: str | Path | None = None,
        key: str | Path | None = None,
    ) -> Tls:
        def read(path: str | Path | None) -> bytes | None:
            return None if path is None else Path(path).read_bytes()

        return cls(read(ca), read(cert), read(key))

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.ca, self.key, self.cert)


@dataclass(frozen=True)
class ClientOptions:
    """Connection options. `timeout` is the deadline of every unary call in seconds (None: none);
    watch streams have none. `retry` retries UNAVAILABLE reads and calls with a request_id."""

    address: str = DEFAULT_ADDRESS
    api_key: str | None = field(default=None, repr=False)
    actor: str | None = None
    tls: Tls | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    retry: RetryPolicy | None = field(default_factory=RetryPolicy)

    @classmethod
    def from_env(cls, **overrides: object) -> ClientOptions:
        """Options from ERPMAIL_ADDRESS, ERPMAIL_API_KEY and ERPMAIL_ACTOR, then `overrides`
        (None meaning "not given"; to turn off the deadline or retries, `dataclasses.replace`
        the result)."""
        values: dict[str, object] = {
            "address": os.environ.get("ERPMAIL_ADDRESS") or DEFAULT_ADDRESS,
            "api_key": os.environ.get("ERPMAIL_API_KEY") or None,
            "actor": os.environ.get("ERPMAIL_ACTOR") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def metadata(self) -> tuple[tuple[str, str], ...]:
        pairs = []
        if self.api_key:
            pairs.append((AUTHORIZATION_KEY, f"Bearer {self.api_key}"))
        if self.actor:
            pairs.append((ACTOR_KEY, self.actor))
        return tuple(pairs)

    def channel_options(self) -> list[tuple[str, object]]:
        return [
            ("grpc.service_config", service_config(self.retry)),
            ("grpc.enable_retries", 1 if self.retry else 0),
            # gRPC retries a call only while it still holds the whole request: room for the
            # largest erpmail takes (an email with attachments), not the default 256 KiB.
            ("grpc.per_rpc_retry_buffer_size", MAX_REQUEST_BYTES),
            ("grpc.retry_buffer_size", 4 * MAX_REQUEST_BYTES),
            ("grpc.max_send_message_length", MAX_REQUEST_BYTES),
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
            # Back within seconds of erpmail restarting, not gRPC's default of up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 5_000),
        ]
