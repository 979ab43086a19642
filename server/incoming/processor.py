"""Processing of received email: gathers the facts, lets plan.py decide, and carries it out.

For each pending incoming email of an account that processes mail:
1. the facts: the thread it matched (at store time), what the directory knows of the sender, the
   account's assignment map when the thread gave no owner, the other erpmail accounts' addresses
   and how many automatic replies the sender had lately;
2. the plan (plan.py);
3. the actions that send mail, each an ordinary outgoing email created with a request id derived
   from the email, so processing the email again never sends anything twice: the forward to the
   thread's employees (forwarding.py), the receipt confirmation and the reply to unassigned email
   (auto_reply.py, from the account's templates);
4. the outcome, in one transaction: processed (owner, work group, related entity, brief reference
   information, the requests to the ERP) or failed with the reason; and whether the message is
   now due for deletion on the server.

A failure in any step fails the email, not the receive; the email can be processed again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from erpmail.server.accounts.models import Account
from erpmail.server.accounts.store import AccountStore
from erpmail.server.assignment.rules import EmailFacts, assign
from erpmail.server.assignment.store import AssignmentMapStore
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument, NotFound
from erpmail.server.directory.models import Contact, Employee
from erpmail.server.directory.store import DirectoryStore
from erpmail.server.incoming import plan as rules
from erpmail.server.incoming.auto_reply import Original, ReplyText, auto_reply, template_data
from erpmail.server.incoming.forwarding import (
    Received,
    forward_content,
    forward_recipients,
    should_forward,
)
from erpmail.server.incoming.references import reference_info
from erpmail.server.incoming.store import IncomingEmail, IncomingStore, ProcessingOutcome
from erpmail.server.outgoing.models import Content
from erpmail.server.outgoing.service import CreateRequest, OutgoingService
from erpmail.server.templates.render import render
from erpmail.server.templates.store import TemplateStore

log = logging.getLogger(__name__)


class ProcessingFailed(Exception):
    """A step of processing cannot be done; the message is the email's failure reason."""


@dataclass(frozen=True)
class _Sender:
    address: str
    name: str
    employee: Employee | None
    contact: Contact | None


class Processor:
    def __init__(
        self,
        store: IncomingStore,
        accounts: AccountStore,
        directory: DirectoryStore,
        outgoing: OutgoingService,
        templates: TemplateStore,
        assignment_maps: AssignmentMapStore,
        clock: Clock,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._directory = directory
        self._outgoing = outgoing
        self._templates = templates
        self._maps = assignment_maps
        self._clock = clock

    async def process(self, account: Account, emails: Sequence[tuple[int, IncomingEmail]]) -> None:
        """Processes the account's pending emails, each to processed or failed."""
        if not emails:
            return
        system_addresses = await self._system_addresses()
        for email_id, email in emails:
            await self._process_one(account, email_id, email, system_addresses)

    async def _process_one(
        self,
        account: Account,
        email_id: int,
        email: IncomingEmail,
        system_addresses: frozenset[str],
    ) -> None:
        options = account.processing
        try:
            outcome = await self._carry_out(account, email_id, email, system_addresses)
        except Exception as failure:
            reason = str(failure) if isinstance(failure, ProcessingFailed) else _describe(failure)
            log.warning("processing failed", extra={"email_id": email_id, "error": reason})
            outcome = ProcessingOutcome(
                error=reason,
                delete_on_server=rules.delete_on_server(options.delete_after_processing, True),
            )
        await self._store.finish_processing(
            account.account_id, email_id, outcome, self._clock.now()
        )

    async def _carry_out(
        self,
        account: Account,
        email_id: int,
        email: IncomingEmail,
        system_addresses: frozenset[str],
    ) -> ProcessingOutcome:
        sender = await self._sender(email)
        facts = rules.Facts(
            sender_address=sender.address,
            sender_name=sender.name,
            automated=email.automated,
            threaded=email.thread_email_id is not None,
            thread_ownership=rules.Ownership(email.content.owner_id, email.content.work_group_id),
            related_entity=email.content.related_entity,
            sender_is_employee=sender.employee is not None,
            contact=sender.contact,
            system_addresses=system_addresses,
            recent_auto_replies=await self._store.recent_auto_replies(
                account.account_id, sender.address, self._clock.now() - rules.AUTO_REPLY_WINDOW
            ),
        )
        if rules.should_create_contact(account.processing, facts):
            contact = await self._new_contact(sender)
            sender = replace(sender, contact=contact)
            facts = replace(facts, contact=contact)
        assignment, rule_name = await self._assignment(account, email, facts)
        decided = rules.plan(account.processing, facts, assignment, rule_name)
        for note in decided.notes:
            log.info("processing", extra={"email_id": email_id, "note": note})
        await self._forward(account, email_id, email)
        original = _original(account, email, decided)
        replies = 0
        if decided.confirm_receipt:
            replies += await self._auto_reply(
                account, email_id, original, account.processing.confirmation_template_id, "confirm"
            )
        if decided.reply_unassigned:
            replies += await self._auto_reply(
                account, email_id, original, account.processing.reply_template_id, "unassigned"
            )
        info = ""
        if account.processing.add_reference_info:
            thread = await self._store.thread_summary(account.account_id, email.thread_email_id)
            info = reference_info(
                decided,
                thread,
                contact=sender.contact,
                sender_employee_id=sender.employee.employee_id if sender.employee else "",
            )
        return ProcessingOutcome(
            owner_id=decided.ownership.owner_id,
            work_group_id=decided.ownership.work_group_id,
            related_entity=decided.related_entity,
            requests=decided.requests,
            reference_info=info,
            delete_on_server=rules.delete_on_server(
                account.processing.delete_after_processing, False
            ),
            auto_replied_to=sender.address if replies else "",
            auto_replies=replies,
        )

    async def _sender(self, email: IncomingEmail) -> _Sender:
        if email.sender is None or not email.sender.address:
            return _Sender("", "", None, None)
        address = email.sender.address
        return _Sender(
            address,
            email.sender.name,
            await self._directory.employee_by_address(address),
            await self._directory.contact_by_address(address),
        )

    async def _new_contact(self, sender: _Sender) -> Contact | None:
        try:
            return await self._directory.create_contact_for_sender(
                sender.address, sender.name, self._clock.now()
            )
        except InvalidArgument:
            return None  # an address the directory cannot take stays an unknown sender

    async def _assignment(
        self, account: Account, email: IncomingEmail, facts: rules.Facts
    ) -> tuple[rules.Assignment, str]:
        settings = account.assignment
        default = rules.Ownership(settings.default_owner_id, settings.default_work_group_id)
        if not rules.needs_assignment(facts) or not settings.assignment_map_id:
            return rules.Assignment(default=default), ""
        try:
            assignment_map = await self._maps.get(settings.assignment_map_id)
        except NotFound:
            raise ProcessingFailed(
                f"assignment map {settings.assignment_map_id!r} not found"
            ) from None
        content = email.content
        picked = assign(
            assignment_map,
            EmailFacts(
                from_address=facts.sender_address,
                to_addresses=[a.address for a in [*content.to, *content.cc]],
                subject=content.subject,
                body=content.text_body or content.html_body,
            ),
        )
        if picked is None:
            return rules.Assignment(default=default), ""
        mapped = rules.Ownership(picked.owner_id, picked.work_group_id)
        return rules.Assignment(mapped=mapped, default=default), picked.rule_name

    async def _auto_reply(
        self, account: Account, email_id: int, original: Original, template_id: str, purpose: str
    ) -> int:
        """Sends the reply the template makes; 1 when there is someone to send it to."""
        try:
            template = await self._templates.get(template_id)
        except NotFound:
            raise ProcessingFailed(f"{purpose} template {template_id!r} not found") from None
        try:
            rendered = render(template, template_data(original), lenient=True)
        except ValueError as error:
            raise ProcessingFailed(f"{purpose} template {template_id!r}: {error}") from None
        content = auto_reply(
            original,
            ReplyText(
                subject=rendered.subject,
                text_body=rendered.text_body,
                html_body=rendered.html_body,
                cc=rendered.cc,
                bcc=rendered.bcc,
                attachments=rendered.attachments,
            ),
        )
        if not content.to:
            return 0
        request_id = f"erpmail-{purpose}-{account.account_id}-{email_id}"
        await self._send(account, content, request_id, f"sending the {purpose} reply")
        return 1

    async def _forward(self, account: Account, email_id: int, email: IncomingEmail) -> None:
        received = Received(
            email_id=email_id,
            message_id=email.message_id,
            sender=email.sender,
            date=email.date,
            content=email.content,
            thread_email_id=email.thread_email_id,
            automated=email.automated,
        )
        if not should_forward(received):
            return
        history = await self._store.thread_history(account.account_id, email_id)
        employees = [await self._employee_by_id(i) for i in history.owner_ids]
        employees += [await self._directory.employee_by_address(a) for a in history.addresses]
        to = forward_recipients(
            [e for e in employees if e is not None],
            account_address=account.email_address,
            sender_address=email.sender.address if email.sender else "",
            direct_recipients=[a.address for a in [*email.content.to, *email.content.cc]],
        )
        if to:
            content = forward_content(received, to)
            request_id = f"erpmail-forward-{account.account_id}-{email_id}"
            await self._send(account, content, request_id, "forwarding")

    async def _send(self, account: Account, content: Content, request_id: str, what: str) -> None:
        # The request id makes creating it again (processing the email again) a no-op.
        request = CreateRequest(
            account_id=account.account_id,
            content=content,
            submit=True,
            one_email_per_to=True,
            request_id=request_id,
        )
        try:
            await self._outgoing.create([request], actor="system")
        except Exception as error:
            raise ProcessingFailed(f"{what} failed: {_describe(error)}") from error

    async def _employee_by_id(self, employee_id: str) -> Employee | None:
        try:
            return (await self._directory.get_employee(employee_id)).item
        except NotFound:
            return None  # an owner the directory does not (or no longer) know

    async def _system_addresses(self) -> frozenset[str]:
        accounts = [s.account for s in await self._accounts.all()]
        return rules.address_set(
            [a.email_address for a in accounts] + [a.reply_address for a in accounts]
        )


def _original(account: Account, email: IncomingEmail, decided: rules.Plan) -> Original:
    content = email.content
    references = next((h.value.split() for h in content.headers if h.name == "References"), [])
    return Original(
        message_id=email.message_id,
        sender=email.sender,
        reply_to=[a for a in content.reply_to if a.address],
        subject=content.subject,
        text_body=content.text_body,
        date=email.date,
        references=references,
        related_entity=decided.related_entity,
        owner_id=decided.ownership.owner_id,
        work_group_id=decided.ownership.work_group_id,
        account_address=account.email_address,
        account_name=account.display_name,
    )


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__
