"""Sends pending email: automatic processing on its own, manual processing on request.

Per account, a session claims at most "group mails" due emails (atomically, so parallel sessions
never share one), sends them over one SMTP connection and writes each outcome as soon as its
reply is in. A configurable number of sessions per account run in parallel. An account whose
server cannot be reached or refuses the login is an account problem: its claimed emails go back
to pending without an attempt counted, and the account rests until `account_retry` has passed.

Guarantee: an email is marked processed only after the server accepted it. A process killed at
any moment leaves emails in process; `recover()` at start makes them due again, so each is sent
at least once; one whose reply was lost may be sent twice, with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from erpmail.server.accounts.endpoints import outgoing_endpoint
from erpmail.server.accounts.models import Account
from erpmail.server.accounts.store import AccountStore
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import FailedPrecondition, NotFound
from erpmail.server.core.tls import client_context
from erpmail.server.core.waiting import wait_event
from erpmail.server.outgoing.compose import compose_for_account
from erpmail.server.outgoing.models import (
    Attempt,
    AttemptOutcome,
    RecipientStatus,
    SendStep,
    Status,
)
from erpmail.server.outgoing.outcome_writer import OutcomeWriter
from erpmail.server.outgoing.outcomes import Reply
from erpmail.server.outgoing.policy import Backoff, judge
from erpmail.server.outgoing.smtp_sender import SendResult, SessionFailure, SmtpSession
from erpmail.server.outgoing.store import Claimed, EmailStore, Outcome
from erpmail.server.preferences.store import PreferencesStore

log = logging.getLogger(__name__)

# Seconds between looks at the preferences while processing is suspended.
SUSPENDED_LOOK = 0.2


@dataclass(frozen=True)
class DispatchSettings:
    sessions_per_account: int = 2
    # Emails per session when the account sets no "group mails" limit.
    default_batch: int = 200
    # Longest sleep between looks at the queue when nothing wakes the dispatcher.
    poll_interval: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    account_retry: timedelta = timedelta(minutes=1)
    lease: timedelta = timedelta(minutes=10)
    smtp_timeout: float = 30.0


class Dispatcher:
    def __init__(
        self,
        emails: EmailStore,
        accounts: AccountStore,
        preferences: PreferencesStore,
        clock: Clock,
        settings: DispatchSettings | None = None,
    ) -> None:
        self._emails = emails
        self._accounts = accounts
        self._preferences = preferences
        self._clock = clock
        self.settings = settings or DispatchSettings()
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._sessions: dict[str, set[asyncio.Task[None]]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._tls_contexts: dict[str, ssl.SSLContext] = {}
        self._writer = OutcomeWriter(emails, clock)

    async def start(self) -> None:
        recovered = await self._emails.recover(self._clock.now())
        if recovered:
            log.warning("recovered emails left in process", extra={"count": recovered})
        self._writer.start()
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run(), name="erpmail-dispatcher")

    async def stop(self) -> None:
        """Stops claiming; sessions in flight are cancelled and their unsent emails released."""
        if self._loop_task is not None:
            self._stopping = True  # ends the loop even if a cancellation were lost
            self._wake.set()
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        tasks = [t for group in self._sessions.values() for t in group]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._writer.stop()

    def wake(self) -> None:
        """Called when email becomes pending, so that it is sent without waiting for a poll."""
        self._wake.set()

    # -- automatic processing ----------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            timeout = self.settings.poll_interval
            try:
                timeout = await self._dispatch_due()
            except Exception:
                log.exception("dispatching failed; trying again shortly")
            await wait_event(self._wake, timeout)

    async def _dispatch_due(self) -> float:
        """Starts sessions for the accounts with due email; returns how long the dispatcher may
        sleep unless woken. Email due now is either in a running session (whose end wakes the
        dispatcher), or waits for its account's retry, or for processing to resume: waiting
        for the time it is due would look at the queue again and again for nothing."""
        timeout = self.settings.poll_interval
        if (await self._preferences.get()).suspend_processing:
            # Nothing announces the resume: look again soon.
            return min(timeout, SUSPENDED_LOOK)
        now = self._clock.now()
        resting = set()
        for account, problem in (await self._emails.account_problems()).items():
            if problem.retry_after > now:
                resting.add(account)
                timeout = min(timeout, (problem.retry_after - now).total_seconds())
        due = await self._emails.next_due_time(after=now)
        if due is not None:
            timeout = min(timeout, (due - now).total_seconds())
        for account_id in await self._emails.due_accounts(now):
            if account_id in resting:
                continue
            running = self._sessions.setdefault(account_id, set())
            while len(running) < self.settings.sessions_per_account:
                task = asyncio.create_task(self._automatic_session(account_id))
                running.add(task)
                task.add_done_callback(functools.partial(self._session_done, group=running))
        return max(0.0, timeout)

    def _session_done(self, task: asyncio.Task[None], group: set[asyncio.Task[None]]) -> None:
        group.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("send session failed", exc_info=task.exception())
        self._wake.set()  # the account may have more due email

    async def _automatic_session(self, account_id: str) -> None:
        try:
            account = (await self._accounts.get(account_id)).account
        except NotFound:
            return
        now = self._clock.now()
        claimed = await self._emails.claim_due(
            account_id, now, self._batch(account), self._owner, now + self.settings.lease
        )
        if claimed:
            allowed = (await self._preferences.get()).automatic_resend_attempts
            await self._send(account, claimed, manual=False, allowed_failures=allowed)

    def _tls_context(self, trusted_certificate_pem: str) -> ssl.SSLContext:
        # Loading the system's CA certificates takes milliseconds: one context per trust.
        context = self._tls_contexts.get(trusted_certificate_pem)
        if context is None:
            context = self._tls_contexts[trusted_certificate_pem] = client_context(
                trusted_certificate_pem
            )
        return context

    def _batch(self, account: Account) -> int:
        return account.outgoing.group_mails or self.settings.default_batch

    # -- manual processing -------------------------------------------------------------------

    async def process(self, email_ids: Sequence[int], include_failed: bool) -> None:
        """One attempt now for each email (pending, or failed when asked); failures fail."""
        if (await self._preferences.get()).suspend_processing:
            raise FailedPrecondition(
                "PROCESSING_SUSPENDED",
                "preferences",
                "email processing is suspended in the preferences",
            )
        now = self._clock.now()
        claimed = await self._emails.claim_ids(
            email_ids, include_failed, now, self._owner, now + self.settings.lease
        )
        by_account: dict[str, list[Claimed]] = {}
        for email in claimed:
            by_account.setdefault(email.account_id, []).append(email)
        for account_id, emails in by_account.items():
            account = (await self._accounts.get(account_id)).account
            batch = self._batch(account)
            for start in range(0, len(emails), batch):
                await self._send(account, emails[start : start + batch], True, 0)

    # -- one SMTP session --------------------------------------------------------------------

    async def _send(
        self, account: Account, claimed: list[Claimed], manual: bool, allowed_failures: int
    ) -> None:
        passwords = await self._accounts.passwords(account.account_id)
        endpoint = outgoing_endpoint(account, passwords)
        if endpoint is None:
            await self._fail_all(
                claimed, manual, allowed_failures, None, "the account does not send"
            )
            return
        claimed = await self._composed(account, claimed, manual, allowed_failures)
        if not claimed:
            return
        try:
            session = await SmtpSession.open(
                endpoint,
                tls_context=self._tls_context(account.trusted_certificate_pem),
                timeout=self.settings.smtp_timeout,
            )
        except SessionFailure as failure:
            await self._session_failed(account, claimed, manual, allowed_failures, failure)
            return
        await self._emails.clear_account_problem(account.account_id)
        committed: list[asyncio.Future[None]] = []
        done = 0
        try:
            for email in claimed:
                if not session.usable:
                    break
                result = await session.send(account.email_address, email.envelope, email.raw)
                if result.account_problem and not manual:
                    # Not the email's fault (530 at MAIL FROM, ...): it waits for the account.
                    await self._account_problem(account, str(result.reply or result.detail))
                    break
                outcome = self._outcome(email, result, manual, allowed_failures)
                committed.append(self._writer.submit(outcome))
                done += 1
        finally:
            # Emails whose turn did not come (connection lost, cancelled) wait for the next run.
            unsent = [e.id for e in claimed[done:]]
            await asyncio.shield(self._emails.release(unsent, self._clock.now()))
            await session.close()
        # Manual processing reports what became of each email: only once it is committed.
        await asyncio.gather(*committed)

    async def _composed(
        self, account: Account, claimed: list[Claimed], manual: bool, allowed_failures: int
    ) -> list[Claimed]:
        """The claimed emails with their messages: those queued in bulk (OutgoingService.bulk)
        are composed now and stored before the first attempt, so every attempt sends the same
        bytes. One that cannot be composed fails; the others go on."""
        if all(email.raw for email in claimed):
            return claimed
        ready: list[Claimed] = []
        composed: list[tuple[int, bytes]] = []
        broken: list[tuple[Claimed, str]] = []
        found = await self._emails.to_compose([email.id for email in claimed if not email.raw])
        for email in claimed:
            if email.raw:
                ready.append(email)
                continue
            try:
                stored = found[email.id]
                raw = compose_for_account(
                    stored.content,
                    account,
                    message_id=stored.message_id,
                    tag=stored.tracking_tag,
                    date=self._clock.now(),
                )
            except Exception as error:
                log.exception("cannot compose a queued email", extra={"email_id": email.id})
                broken.append((email, f"the message could not be composed: {error}"))
                continue
            composed.append((email.id, raw))
            ready.append(replace(email, raw=raw))
            await asyncio.sleep(0)  # composing takes a while: let calls in between messages
        if composed:
            await self._emails.set_raw(composed)
        if broken:
            await self._writer.write(
                [
                    self._outcome(
                        email,
                        SendResult(
                            SendStep.CONNECT,
                            AttemptOutcome.PERMANENT_FAILURE,
                            None,
                            [],
                            detail=detail,
                        ),
                        manual,
                        allowed_failures,
                    )
                    for email, detail in broken
                ]
            )
        return ready

    async def _account_problem(self, account: Account, error: str) -> None:
        now = self._clock.now()
        await self._emails.set_account_problem(
            account.account_id, error, now, now + self.settings.account_retry
        )

    async def _session_failed(
        self,
        account: Account,
        claimed: list[Claimed],
        manual: bool,
        allowed_failures: int,
        failure: SessionFailure,
    ) -> None:
        now = self._clock.now()
        log.warning(
            "cannot open an SMTP session",
            extra={
                "account": account.account_id,
                "step": failure.step.value,
                "error": failure.detail,
            },
        )
        if failure.account_problem and not manual:
            await self._account_problem(account, failure.detail)
            await self._emails.release([e.id for e in claimed], now)
            return
        await self._fail_all(claimed, manual, allowed_failures, failure, failure.detail)

    async def _fail_all(
        self,
        claimed: list[Claimed],
        manual: bool,
        allowed_failures: int,
        failure: SessionFailure | None,
        detail: str,
    ) -> None:
        outcome = (
            AttemptOutcome.TRANSIENT_FAILURE
            if failure is None or failure.transient
            else AttemptOutcome.PERMANENT_FAILURE
        )
        result = SendResult(
            step=failure.step if failure else SendStep.CONNECT,
            outcome=outcome,
            reply=failure.reply if failure else None,
            recipients=[],
            detail=detail,
        )
        await self._writer.write(
            [self._outcome(e, result, manual, allowed_failures) for e in claimed]
        )

    def _outcome(
        self, email: Claimed, result: SendResult, manual: bool, allowed_failures: int
    ) -> Outcome:
        now = self._clock.now()
        verdict = judge(
            result.outcome,
            manual=manual,
            failed_attempts=email.failed_attempts,
            allowed_failures=allowed_failures,
            now=now,
            backoff=self.settings.backoff,
        )
        reply = result.reply or Reply(0, "", "")
        refused = [r for r in result.recipients if not r.accepted]
        if verdict.status is Status.PROCESSED:
            error = (
                "some recipients were refused: "
                + "; ".join(f"{r.address} ({_describe(r.reply)})" for r in refused)
                if refused
                else ""
            )
        else:
            error = _describe(result.reply) or result.detail
        delivered = {address.lower() for address in result.delivered}
        return Outcome(
            email_id=email.id,
            account_id=email.account_id,
            attempt=Attempt(
                time=now,
                manual=manual,
                step=result.step,
                outcome=result.outcome,
                reply_code=reply.code,
                enhanced_status=reply.enhanced_status,
                reply_text=reply.text or result.detail,
            ),
            status=verdict.status,
            failed_attempts=verdict.failed_attempts,
            next_attempt_time=verdict.next_attempt_time,
            error=error,
            recipients=[
                (
                    r.address,
                    _recipient_status(r.address.lower() in delivered, r.accepted),
                    r.reply.code if r.reply else 0,
                    r.reply.enhanced_status if r.reply else "",
                    r.reply.text if r.reply else "",
                )
                for r in result.recipients
            ],
        )


def _recipient_status(delivered: bool, accepted_at_rcpt: bool) -> RecipientStatus:
    if delivered:
        return RecipientStatus.ACCEPTED
    # Taken at RCPT TO but the message failed afterwards: it may go out on the next try.
    return RecipientStatus.PENDING if accepted_at_rcpt else RecipientStatus.REFUSED


def _describe(reply: Reply | None) -> str:
    if reply is None or not reply.code:
        return ""
    return " ".join(str(p) for p in (reply.code, reply.enhanced_status, reply.text) if p)
