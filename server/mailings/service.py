"""The use cases of sending from templates: one email now, or a mass mailing started for the
worker to carry out; reading a mailing's progress and following it live."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from erpmail.server.core import access
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.mailings.models import (
    EmailOptions,
    MailingStatus,
    MassMailing,
    Outcome,
    RecipientInput,
    RecipientState,
    check_attachment_volume,
    validate_send,
    validate_start,
)
from erpmail.server.mailings.rendering import render_problem
from erpmail.server.mailings.store import RESOURCE, MailingStore, NewMailing
from erpmail.server.outgoing.models import Address
from erpmail.server.outgoing.service import OutgoingService
from erpmail.server.templates.compose import (
    refusal_in_request,
    template_content,
    template_request,
)
from erpmail.server.templates.models import RenderError
from erpmail.server.templates.render import render
from erpmail.server.templates.store import TemplateStore

# Request ids of SendTemplateEmail live beside CreateEmail's: a prefix keeps them apart.
REQUEST_PREFIX = "send-template-email:"
# The parts of the email SendTemplateEmail's request gives itself, by the field giving them.
_OWN_FIELDS = {"account_id": "account_id"}


class MailingService:
    def __init__(
        self,
        store: MailingStore,
        templates: TemplateStore,
        outgoing: OutgoingService,
        clock: Clock,
        wake_worker: Callable[[], None],
    ) -> None:
        self._store = store
        self._templates = templates
        self._outgoing = outgoing
        self._clock = clock
        self._wake_worker = wake_worker

    async def send(
        self,
        template_id: str,
        data: Mapping[str, object],
        data_size: int,
        extra_to: Sequence[Address],
        options: EmailOptions,
        request_id: str,
        actor: str,
    ) -> int:
        """Renders the template and queues the email; returns its id."""
        validate_send(template_id, data_size, extra_to, options, request_id)
        template = await self._templates.get(template_id)
        try:
            rendered = render(template, data, lenient=options.lenient)
        except RenderError as error:
            raise InvalidArgument.of("data", render_problem(template_id, error)) from None
        content = template_content(
            rendered,
            extra_to=[Address(a.address.strip(), a.name.strip()) for a in extra_to],
            related_entity=options.related_entity,
            owner_id=options.owner_id,
        )
        request = template_request(
            rendered,
            content,
            account_id=options.account_id,
            request_id=REQUEST_PREFIX + request_id if request_id else "",
        )
        try:
            [email_id] = await self._outgoing.create([request], actor)
        except InvalidArgument as error:
            # The account is the caller's; the rest (no recipient at all, say) is what the
            # template made of the data.
            raise refusal_in_request(error, template_id, _OWN_FIELDS.get) from None
        return email_id

    async def start(
        self,
        template_id: str,
        recipients: Sequence[RecipientInput],
        options: EmailOptions,
        request_id: str,
        actor: str,
    ) -> MassMailing:
        """Stores the mailing and every recipient, and leaves the rest to the worker."""
        validate_start(template_id, recipients, options, request_id)
        if request_id:
            started = await self._store.by_request(request_id)
            if started is not None:
                return await self._store.get(started)
        template = await self._templates.get(template_id)
        check_attachment_volume(sum(a.size for a in template.attachments), len(recipients))
        # Checked now, so that a mailing that cannot send is refused rather than failing
        # every recipient; chosen as for one email (templates.compose.template_request).
        bulk = await self._outgoing.bulk(
            options.account_id or template.from_account_id, "account_id", actor
        )
        mailing = NewMailing(template, bulk.account.account_id, options, request_id, actor)
        mailing_id = await self._store.create(mailing, recipients, self._clock.now())
        self._wake_worker()
        return await self._store.get(mailing_id)

    async def get(self, mailing_id: int) -> MassMailing:
        """The mailing; NOT_FOUND when there is none or it sends through an account the caller
        does not see, as for its emails."""
        mailing = await self._store.get(mailing_id)
        visible = await self._outgoing.visible_accounts()
        access.require_visible(visible, mailing.account_id, RESOURCE, str(mailing_id))
        return mailing

    async def recipients(
        self, mailing_id: int, outcomes: Sequence[Outcome], after_index: int, limit: int
    ) -> list[RecipientState]:
        await self.get(mailing_id)
        return await self._store.recipients(mailing_id, outcomes, after_index, limit)

    async def follow(self, mailing_id: int, interval: float) -> AsyncIterator[MassMailing]:
        """The mailing now, after every change, and at least every `interval` seconds, until
        it is done."""
        await self.get(mailing_id)
        last: MassMailing | None = None
        timed_out = False
        while True:
            seen = self._store.changed.version
            mailing = await self._store.get(mailing_id)
            if mailing != last or timed_out:
                yield mailing
                last = mailing
            if mailing.status is MailingStatus.DONE:
                return
            timed_out = not await self._store.changed.wait(seen, interval)
