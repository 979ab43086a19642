"""Sending a document by email: the party's preference and mailing setting decide whether and to
whom, the setting's template makes the email, and the outgoing queue takes it."""

from __future__ import annotations

from dataclasses import dataclass

from erpmail.server.core.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from erpmail.server.directory.models import Employee
from erpmail.server.directory.store import DirectoryStore
from erpmail.server.documents.models import Delivery, DocumentRequest, MailingSetting
from erpmail.server.documents.recipients import (
    arrange,
    by_kind,
    employees_named,
    resolve,
    roles_named,
)
from erpmail.server.documents.store import DocumentStore
from erpmail.server.outgoing.models import Address, RecipientKind
from erpmail.server.outgoing.service import CreateRequest, OutgoingService
from erpmail.server.templates.compose import (
    refusal_in_request,
    template_content,
    template_request,
)
from erpmail.server.templates.models import RenderError
from erpmail.server.templates.render import render
from erpmail.server.templates.store import TemplateStore

# Request ids of EmailService and of other features share one table: this keeps a document's
# request id from answering with emails some other call made under the same id.
REQUEST_ID_SCOPE = "document:"
# The parts of a queued email SendDocument's request gives itself, by the field giving them:
# only its files, at the end of the attachments; the account is the mailing setting's.
_FILES = {"attachments": "files"}
_NO_OWN_FIELDS: dict[str, str] = {}


@dataclass(frozen=True)
class SentDocument:
    setting_id: int  # 0 when a retry finds the setting deleted since the first send
    email_ids: list[int]


class DocumentSender:
    def __init__(
        self,
        store: DocumentStore,
        directory: DirectoryStore,
        templates: TemplateStore,
        outgoing: OutgoingService,
    ) -> None:
        self._store = store
        self._directory = directory
        self._templates = templates
        self._outgoing = outgoing

    async def send(self, request: DocumentRequest, actor: str) -> SentDocument:
        """Queues the email the party's mailing setting calls for; FailedPrecondition, nothing
        queued, when the document does not go to the party by email. `request` is valid.

        A request id sent before returns what that send queued, before anything is checked: a
        retry after the party turned to paper or the setting changed still gets its email."""
        if request.request_id:
            done = await self._outgoing.created_for(REQUEST_ID_SCOPE + request.request_id)
            if done is not None:
                earlier = await self._store.find(request.party, request.document_type)
                return SentDocument(earlier.setting_id if earlier else 0, done)
        setting = await self._setting(request)
        try:
            template = await self._templates.get(setting.template_id)
        except NotFound:
            raise FailedPrecondition(
                "TEMPLATE_MISSING",
                setting.name,
                f"the template {setting.template_id!r} of the mailing setting no longer exists",
            ) from None
        try:
            rendered = render(template, request.data)
        except RenderError as error:
            raise InvalidArgument.of(
                "data", f"template {template.template_id!r}, {error}"
            ) from None
        found = by_kind(await self._resolve(setting))
        content = template_content(
            rendered,
            extra_to=found[RecipientKind.TO],
            files=request.files,
            related_entity=request.related_entity,
        )
        recipients = arrange(
            content.to,
            [*content.cc, *found[RecipientKind.CC]],
            [*content.bcc, *found[RecipientKind.BCC]],
        )
        if not recipients:
            raise FailedPrecondition(
                "NO_RECIPIENTS",
                setting.name,
                f"no recipient of the mailing setting for {setting.party.name}"
                f" ({setting.document_type}) has an address, and the template names none",
            )
        content.to, content.cc, content.bcc = recipients.to, recipients.cc, recipients.bcc
        create = template_request(
            rendered,
            content,
            account_id=setting.account_id,
            request_id=REQUEST_ID_SCOPE + request.request_id if request.request_id else "",
        )
        try:
            email_ids = await self._outgoing.create([create], actor)
        except InvalidArgument as error:
            raise _refusal(error, setting, create, bool(request.files)) from None
        return SentDocument(setting.setting_id, email_ids)

    async def _setting(self, request: DocumentRequest) -> MailingSetting:
        """The active setting the document goes by; FailedPrecondition saying why there is none."""
        party, document_type = request.party, request.document_type
        preference = await self._store.preference(party)
        if preference.delivery is Delivery.PAPER:
            raise FailedPrecondition(
                "PARTY_TAKES_PAPER", party.name, f"{party.name} takes documents on paper only"
            )
        setting = await self._store.find(party, document_type)
        if setting is None:
            raise FailedPrecondition(
                "NO_MAILING_SETTING",
                f"{party.name}/{document_type}",
                f"{party.name} has no mailing setting for {document_type!r} documents",
            )
        if not setting.active:
            raise FailedPrecondition(
                "MAILING_SETTING_INACTIVE",
                setting.name,
                f"the mailing setting of {party.name} for {document_type!r} documents is"
                " not active",
            )
        return setting

    async def _resolve(self, setting: MailingSetting) -> list[tuple[RecipientKind, Address]]:
        contacts = await self._directory.contacts_of(
            setting.party.business_account_id, roles_named(setting.recipients)
        )
        employees: dict[str, Employee] = {}
        for employee_id in employees_named(setting.recipients):
            try:
                employees[employee_id] = (await self._directory.get_employee(employee_id)).item
            except NotFound:
                continue  # deleted since the setting was saved: it names nobody now
        return list(resolve(setting.recipients, contacts, employees))


def _refusal(
    error: InvalidArgument, setting: MailingSetting, create: CreateRequest, files: bool
) -> DomainError:
    """The queue's refusal, told as SendDocument's: the account is the setting's (else its
    template's, else the default) and no field of the request, so a missing one is the setting's
    state; the attachments' size is the request's files' with the template's; the rest is what
    the template made of the data."""
    if any(v.field == "email.account_id" for v in error.violations):
        chosen = create.account_id
        why = (
            f"account {chosen!r} does not exist or the caller may not use it"
            if chosen
            else "neither it nor its template names one, and the preferences name no default"
            " account the caller may use"
        )
        return FailedPrecondition(
            "NO_SENDING_ACCOUNT",
            setting.name,
            f"the mailing setting of {setting.party.name} for {setting.document_type!r}"
            f" documents has no account to send from: {why}",
        )
    if not files:
        return refusal_in_request(error, setting.template_id, _NO_OWN_FIELDS.get)
    # The request's files were checked alone; the queue counts the template's attachments in.
    told = InvalidArgument(
        [
            FieldViolation(v.field, f"with the template's attachments, {v.description}")
            if v.field == "email.attachments"
            else v
            for v in error.violations
        ]
    )
    return refusal_in_request(told, setting.template_id, _FILES.get)
