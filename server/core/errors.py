"""Domain errors, raised by feature code and turned into gRPC statuses in one place.

Features raise these without knowing about gRPC; `status_for` maps each to a status code with
google.rpc details (BadRequest field violations, ErrorInfo, PreconditionFailure, ResourceInfo).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of the errors a request can end in; its message is safe to show the caller."""


class InvalidArgument(DomainError):
    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def of(cls, field: str, description: str) -> InvalidArgument:
        return cls([FieldViolation(field, description)])


def required(value: str, field: str) -> str:
    """The value of a field a request must fill in; INVALID_ARGUMENT naming it otherwise."""
    if not value:
        raise InvalidArgument.of(field, "is required")
    return value


class NotFound(DomainError):
    def __init__(self, resource_type: str, name: str) -> None:
        self.resource_type = resource_type
        self.name = name
        super().__init__(f"{resource_type} {name!r} not found")


class AlreadyExists(DomainError):
    def __init__(self, resource_type: str, name: str, field: str) -> None:
        self.resource_type = resource_type
        self.name = name
        self.field = field
        super().__init__(f"{resource_type} {name!r} already exists")


class FailedPrecondition(DomainError):
    """The request is valid but the system's state forbids it now.

    `kind` is a stable machine-readable reason ("DEFAULT_ACCOUNT", "PENDING_EMAIL"). A request
    about many resources names every one in the way (`more`: further subject, description pairs).
    """

    def __init__(
        self, kind: str, subject: str, description: str, more: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.kind = kind
        self.subject = subject
        self.description = description
        self.items = [(subject, description), *more]
        super().__init__("; ".join(f"{s}: {d}" for s, d in self.items) if more else description)


class PermissionDenied(DomainError):
    """The acting user may not do this to the named resources (all of them are named)."""

    def __init__(self, reason: str, resource_type: str, names: Sequence[str], message: str) -> None:
        self.reason = reason
        self.resource_type = resource_type
        self.names = list(names)
        super().__init__(message)


class Unavailable(DomainError):
    """The server cannot answer now (starting, stopping); the caller may retry."""


class Violations:
    """Collects every problem of a request so that the caller learns them all at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def check(self, condition: bool, field: str, description: str) -> None:
        if not condition:
            self.add(field, description)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)
