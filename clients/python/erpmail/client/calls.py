"""Which erpmail RPCs may be retried, and the gRPC service config that says so.

Read from the erpmail.v1 descriptors, so a new RPC is covered without editing this module:
- reads (Get, List, Preview) have no side effects and are retried on UNAVAILABLE;
- calls whose request has a `request_id` are idempotent once it is set (AIP-155), so the client
  fills an empty one with a random id before the first attempt and retries them too;
- everything else runs once: a second attempt could act twice;
- server streams (Watch*) get no default deadline; `follow` resumes them instead.
"""

from __future__ import annotations

import enum
import importlib
import json
import pkgutil
import uuid
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import erpmail.v1
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

READ_PREFIXES = ("Get", "List", "Preview")
REQUEST_ID = "request_id"
MAX_ATTEMPTS = 5  # gRPC's ceiling
MIN_BACKOFF = 0.001  # gRPC's service config counts in milliseconds at the finest
M = TypeVar("M", bound=Message)


class CallKind(enum.Enum):
    READ = "read"
    IDEMPOTENT = "idempotent with request_id"
    ONCE = "once"
    STREAM = "stream"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of UNAVAILABLE calls, with exponential backoff between attempts (gRPC waits a
    random time up to each backoff). `attempts` counts the first one: 1 means no retries."""

    attempts: int = 5
    first_backoff: float = 0.1
    longest_backoff: float = 5.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        # gRPC takes at most 5 attempts and refuses the whole service config (every call then
        # fails) for a backoff that is not positive: say so here, where the value was given.
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ValueError(f"attempts must be 1 to {MAX_ATTEMPTS}, not {self.attempts}")
        if self.first_backoff < MIN_BACKOFF or self.longest_backoff < self.first_backoff:
            raise ValueError(
                f"backoffs must be at least {MIN_BACKOFF} s, the longest no shorter than the first"
            )
        if self.multiplier <= 0:
            raise ValueError("multiplier must be positive")


def kind_of(method: MethodDescriptor) -> CallKind:
    if method.server_streaming or method.client_streaming:
        return CallKind.STREAM
    if method.name.startswith(READ_PREFIXES):
        return CallKind.READ
    if REQUEST_ID in method.input_type.fields_by_name:
        return CallKind.IDEMPOTENT
    return CallKind.ONCE


@cache
def methods() -> dict[str, MethodDescriptor]:
    """Every erpmail RPC by its full path, as gRPC names it: /erpmail.v1.EmailService/GetEmail."""
    found: dict[str, MethodDescriptor] = {}
    for module_info in pkgutil.iter_modules(erpmail.v1.__path__):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"erpmail.v1.{module_info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                found[f"/{service.full_name}/{method.name}"] = method
    return found


@cache
def kinds() -> dict[str, CallKind]:
    """Every erpmail RPC's kind by its full path: looked up on every call by the interceptor."""
    return {path: kind_of(method) for path, method in methods().items()}


def kind_of_path(path: str) -> CallKind:
    return kinds().get(path, CallKind.ONCE)


def service_config(retry: RetryPolicy | None) -> str:
    """The channel's service config: retries where they are safe. (Deadlines are set per call by
    the interceptor: one here would be a ceiling no call could raise.)"""
    retried: list[dict[str, str]] = [
        {"service": methods()[path].containing_service.full_name, "method": methods()[path].name}
        for path, kind in kinds().items()
        if kind in (CallKind.READ, CallKind.IDEMPOTENT)
    ]
    if retry is None or retry.attempts == 1 or not retried:
        return json.dumps({"methodConfig": []})
    policy = {
        "maxAttempts": retry.attempts,
        "initialBackoff": f"{retry.first_backoff:.3f}s",
        "maxBackoff": f"{retry.longest_backoff:.3f}s",
        "backoffMultiplier": retry.multiplier,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    return json.dumps({"methodConfig": [{"name": retried, "retryPolicy": policy}]})


def with_request_id(request: M) -> M:
    """The request with a random request_id when it has that field and left it empty."""
    descriptor = request.DESCRIPTOR
    if REQUEST_ID not in descriptor.fields_by_name or getattr(request, REQUEST_ID):
        return request
    filled = type(request)()
    filled.CopyFrom(request)
    setattr(filled, REQUEST_ID, uuid.uuid4().hex)
    return filled
