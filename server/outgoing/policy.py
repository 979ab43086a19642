"""What an attempt's outcome does to an email: the resend rules of the sources.

- A critical error (a 5xx reply) fails the email at once, whatever the settings.
- Manual processing makes one attempt: any failure fails the email.
- Automatic processing may fail `automatic_resend_attempts` times; each transient failure leaves
  the email pending until a backoff has passed, and the failure after the last allowed one
  fails it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from erpmail.server.outgoing.models import AttemptOutcome, Status


@dataclass(frozen=True)
class Backoff:
    """Exponential: first * factor**(n-1) after the n-th failure, at most `longest`."""

    first: timedelta = timedelta(minutes=1)
    factor: float = 2.0
    longest: timedelta = timedelta(hours=1)

    def after(self, failures: int) -> timedelta:
        delay = self.first.total_seconds() * self.factor ** max(failures - 1, 0)
        return timedelta(seconds=min(delay, self.longest.total_seconds()))


@dataclass(frozen=True)
class Verdict:
    status: Status
    failed_attempts: int
    next_attempt_time: datetime | None


def judge(
    outcome: AttemptOutcome,
    *,
    manual: bool,
    failed_attempts: int,
    allowed_failures: int,
    now: datetime,
    backoff: Backoff,
) -> Verdict:
    if outcome in (AttemptOutcome.SENT, AttemptOutcome.PARTIALLY_SENT):
        return Verdict(Status.PROCESSED, failed_attempts, None)
    if outcome is AttemptOutcome.PERMANENT_FAILURE or manual:
        return Verdict(Status.FAILED, failed_attempts + (not manual), None)
    failures = failed_attempts + 1
    if failures > allowed_failures:
        return Verdict(Status.FAILED, failures, None)
    return Verdict(Status.PENDING, failures, now + backoff.after(failures))
