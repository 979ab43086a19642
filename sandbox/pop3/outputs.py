"""What the POP3 state machine asks its edge to do, in order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Close:
    """Close the connection (after sending everything before it)."""


@dataclass(frozen=True)
class StartTls:
    """Begin the TLS handshake, then call `tls_started` (or close if it fails)."""


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Throttle:
    """Send everything that follows at most this fast."""

    bytes_per_second: int


Output = Send | Close | StartTls | Pause | Throttle
