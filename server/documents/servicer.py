"""DocumentService: translates requests to the documents domain and back; no rules live here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import grpc
from erpmail.server.core import access, context, paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import apply_mask, check_mask, numeric_id
from erpmail.server.documents import convert
from erpmail.server.documents import models as m
from erpmail.server.documents.sending import DocumentSender
from erpmail.server.documents.store import DocumentStore
from erpmail.server.outgoing import convert as email_convert
from erpmail.server.outgoing.service import OutgoingService
from erpmail.v1 import documents_pb2 as pb
from erpmail.v1 import documents_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

# Output-only or identifying fields an update may not name.
SETTING_IMMUTABLE = {"setting_id", "party", "document_type", "create_time", "update_time"}
PREFERENCE_IMMUTABLE = {"party", "update_time"}


class DocumentServicer(documents_pb2_grpc.DocumentServiceServicer):
    def __init__(
        self,
        store: DocumentStore,
        sender: DocumentSender,
        outgoing: OutgoingService,
        clock: Clock,
    ) -> None:
        self._store = store
        self._sender = sender
        self._outgoing = outgoing
        self._clock = clock

    # Mailing settings

    async def CreateMailingSetting(
        self, request: pb.CreateMailingSettingRequest, context_: Context
    ) -> pb.CreateMailingSettingResponse:
        access.require_back_end(context.current(), "mailing setting")
        setting = _valid_setting(request.mailing_setting)
        stored = await self._store.create(setting, self._clock.now())
        return pb.CreateMailingSettingResponse(mailing_setting=convert.setting_to_proto(stored))

    async def GetMailingSetting(
        self, request: pb.GetMailingSettingRequest, context_: Context
    ) -> pb.GetMailingSettingResponse:
        stored = await self._store.get(_setting_id(request.setting_id))
        return pb.GetMailingSettingResponse(mailing_setting=convert.setting_to_proto(stored))

    async def ListMailingSettings(
        self, request: pb.ListMailingSettingsRequest, context_: Context
    ) -> pb.ListMailingSettingsResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.page(
            _after(request.page_token, 3),
            size + 1,
            kind=convert.party_kind_to_domain(request.party_kind, "party_kind"),
            business_account_id=request.business_account_id.strip(),
            document_type=m.document_type_key(request.document_type),
        )
        return pb.ListMailingSettingsResponse(
            mailing_settings=[convert.setting_to_proto(s) for s in found[:size]],
            next_page_token=_next_token(
                [[s.party.kind, s.party.business_account_id, s.document_type] for s in found],
                size,
            ),
        )

    async def UpdateMailingSetting(
        self, request: pb.UpdateMailingSettingRequest, context_: Context
    ) -> pb.UpdateMailingSettingResponse:
        access.require_back_end(context.current(), "mailing setting")
        setting_id = _setting_id(request.mailing_setting.setting_id, "mailing_setting.setting_id")
        paths = check_mask(
            request.update_mask, pb.MailingSetting(), "update_mask", SETTING_IMMUTABLE
        )

        def edit(current: m.MailingSetting) -> m.MailingSetting:
            merged = convert.setting_to_proto(current)
            apply_mask(paths, request.mailing_setting, merged)
            changed = _valid_setting(merged)
            # "*" copies the request's identity fields too: the stored ones stay.
            return replace(changed, party=current.party, document_type=current.document_type)

        stored = await self._store.update(setting_id, edit, self._clock.now())
        return pb.UpdateMailingSettingResponse(mailing_setting=convert.setting_to_proto(stored))

    async def DeleteMailingSetting(
        self, request: pb.DeleteMailingSettingRequest, context_: Context
    ) -> pb.DeleteMailingSettingResponse:
        access.require_back_end(context.current(), "mailing setting")
        await self._store.delete(_setting_id(request.setting_id))
        return pb.DeleteMailingSettingResponse()

    # Party preferences

    async def GetPartyDocumentPreference(
        self, request: pb.GetPartyDocumentPreferenceRequest, context_: Context
    ) -> pb.GetPartyDocumentPreferenceResponse:
        party = _valid_party(request.party, "party")
        found = await self._store.preference(party)
        return pb.GetPartyDocumentPreferenceResponse(preference=convert.preference_to_proto(found))

    async def ListPartyDocumentPreferences(
        self, request: pb.ListPartyDocumentPreferencesRequest, context_: Context
    ) -> pb.ListPartyDocumentPreferencesResponse:
        size = paging.page_size(request.page_size)
        delivery = (
            convert.DELIVERY.to_domain(request.delivery, "delivery") if request.delivery else None
        )
        found = await self._store.preferences_page(
            _after(request.page_token, 2),
            size + 1,
            delivery,
        )
        return pb.ListPartyDocumentPreferencesResponse(
            preferences=[convert.preference_to_proto(p) for p in found[:size]],
            next_page_token=_next_token(
                [[p.party.kind, p.party.business_account_id] for p in found], size
            ),
        )

    async def UpdatePartyDocumentPreference(
        self, request: pb.UpdatePartyDocumentPreferenceRequest, context_: Context
    ) -> pb.UpdatePartyDocumentPreferenceResponse:
        access.require_back_end(context.current(), "party document preference")
        party = _valid_party(request.preference.party, "preference.party")
        paths = check_mask(
            request.update_mask, pb.PartyDocumentPreference(), "update_mask", PREFERENCE_IMMUTABLE
        )

        def edit(current: m.PartyPreference) -> m.PartyPreference:
            merged = convert.preference_to_proto(current)
            apply_mask(paths, request.preference, merged)
            return replace(convert.preference_to_domain(merged), party=current.party)

        stored = await self._store.set_preference(party, edit, self._clock.now())
        return pb.UpdatePartyDocumentPreferenceResponse(
            preference=convert.preference_to_proto(stored)
        )

    # Sending

    async def SendDocument(
        self, request: pb.SendDocumentRequest, context_: Context
    ) -> pb.SendDocumentResponse:
        document = m.normalize_request(convert.request_to_domain(request))
        m.validate_request(document)
        sent = await self._sender.send(document, context.current().actor)
        emails = []
        for email_id in sent.email_ids:
            email, sender = await self._outgoing.get(email_id)
            emails.append(email_convert.to_proto(email, sender, with_content=False))
        return pb.SendDocumentResponse(
            setting_id=str(sent.setting_id) if sent.setting_id else "", emails=emails
        )


def _valid_setting(message: pb.MailingSetting) -> m.MailingSetting:
    setting = m.normalize_setting(convert.setting_to_domain(message))
    m.validate_setting(setting)
    return setting


def _valid_party(message: pb.Party, field: str) -> m.Party:
    party = m.normalize_party(convert.party_to_domain(message, field))
    m.validate_party(party, field)
    return party


def _setting_id(value: str, field: str = "setting_id") -> int:
    return numeric_id(value, field, "a mailing setting")


def _after(token: str, parts: int) -> tuple[str, ...] | None:
    """Where a list ordered by several text columns resumes; None on the first page."""
    position = paging.decode_token(token)
    if position is None:
        return None
    after = position.get("after")
    if (
        not isinstance(after, list)
        or len(after) != parts
        or not all(isinstance(part, str) for part in after)
    ):
        raise InvalidArgument.of("page_token", "is not a token this server issued")
    return tuple(after)


def _next_token(keys: list[list[Any]], size: int) -> str:
    """The token for the page after one read with size + 1 rows ("" when it was the last)."""
    if len(keys) <= size:
        return ""
    return paging.encode_token({"after": [str(part) for part in keys[size - 1]]})
