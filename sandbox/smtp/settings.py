"""How one SMTP listener behaves; shared by all its sessions."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

from erpmail.sandbox.faults import FaultEngine
from erpmail.sandbox.smtp.replies import DEFAULT_HOSTNAME
from erpmail.sandbox.smtp.transcript import TranscriptLog
from erpmail.sandbox.store import MailStore

DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_RECIPIENTS = 100
DEFAULT_IDLE_TIMEOUT = 300.0


@dataclass(frozen=True)
class SmtpSettings:
    store: MailStore
    faults: FaultEngine | None = None
    transcripts: TranscriptLog | None = None
    starttls_context: ssl.SSLContext | None = None
    implicit_tls: bool = False
    auth_required: bool = False
    auth_require_tls: bool = False
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    hostname: str = DEFAULT_HOSTNAME
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    # The connections open now, so stopping the listener can close them too.
    live_transports: set[asyncio.BaseTransport] = field(
        default_factory=set, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.max_message_size < 1:
            raise ValueError(f"max_message_size: must be positive, got {self.max_message_size}")
        if self.max_recipients < 1:
            raise ValueError(f"max_recipients: must be positive, got {self.max_recipients}")
        if self.idle_timeout <= 0:
            raise ValueError(f"idle_timeout: must be positive, got {self.idle_timeout}")
