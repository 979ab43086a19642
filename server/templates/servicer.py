"""TemplateService: translates requests to the templates domain and back; no rules live here."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.accounts.store import AccountStore
from erpmail.server.core import paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument, NotFound, required
from erpmail.server.core.protos import apply_mask, check_mask
from erpmail.server.outgoing.models import Address
from erpmail.server.preferences.store import PreferencesStore
from erpmail.server.templates import convert
from erpmail.server.templates.models import (
    RenderError,
    Template,
    normalize_template,
    validate_template,
)
from erpmail.server.templates.render import render
from erpmail.server.templates.store import TemplateStore
from erpmail.v1 import templates_pb2 as pb
from erpmail.v1 import templates_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

# Output-only or identifying fields an update may not name.
IMMUTABLE = {"template_id", "create_time", "update_time"}


class TemplateServicer(templates_pb2_grpc.TemplateServiceServicer):
    def __init__(
        self,
        store: TemplateStore,
        accounts: AccountStore,
        preferences: PreferencesStore,
        clock: Clock,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._preferences = preferences
        self._clock = clock

    async def CreateTemplate(
        self, request: pb.CreateTemplateRequest, context_: Context
    ) -> pb.CreateTemplateResponse:
        template = _valid(request.template)
        stored = await self._store.create(template, self._clock.now())
        return pb.CreateTemplateResponse(template=convert.template_to_proto(stored))

    async def GetTemplate(
        self, request: pb.GetTemplateRequest, context_: Context
    ) -> pb.GetTemplateResponse:
        stored = await self._store.get(required(request.template_id, "template_id"))
        return pb.GetTemplateResponse(template=convert.template_to_proto(stored))

    async def ListTemplates(
        self, request: pb.ListTemplatesRequest, context_: Context
    ) -> pb.ListTemplatesResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.page(paging.after_key(request.page_token), size + 1)
        return pb.ListTemplatesResponse(
            templates=[convert.template_to_proto(t) for t in found[:size]],
            next_page_token=paging.next_page_token([t.template_id for t in found], size),
        )

    async def UpdateTemplate(
        self, request: pb.UpdateTemplateRequest, context_: Context
    ) -> pb.UpdateTemplateResponse:
        template_id = required(request.template.template_id, "template.template_id")
        paths = check_mask(request.update_mask, pb.Template(), "update_mask", IMMUTABLE)

        def edit(current: Template) -> Template:
            merged = convert.template_to_proto(current)
            apply_mask(paths, request.template, merged)
            merged.template_id = template_id
            return _valid(merged)

        stored = await self._store.update(template_id, edit, self._clock.now())
        return pb.UpdateTemplateResponse(template=convert.template_to_proto(stored))

    async def DeleteTemplate(
        self, request: pb.DeleteTemplateRequest, context_: Context
    ) -> pb.DeleteTemplateResponse:
        await self._store.delete(required(request.template_id, "template_id"))
        return pb.DeleteTemplateResponse()

    async def PreviewTemplate(
        self, request: pb.PreviewTemplateRequest, context_: Context
    ) -> pb.PreviewTemplateResponse:
        template = await self._template_to_preview(request)
        try:
            rendered = render(
                template, convert.data_to_domain(request.data), lenient=request.lenient
            )
        except RenderError as error:
            name = f"template {template.template_id!r}" if template.template_id else "the template"
            raise InvalidArgument.of("data", f"{name}, {error}") from None
        account_id = rendered.from_account_id or (await self._preferences.get()).default_account_id
        sender = await self._sender(account_id) if account_id else None
        return convert.preview_to_proto(rendered, account_id, sender)

    async def _template_to_preview(self, request: pb.PreviewTemplateRequest) -> Template:
        if request.WhichOneof("source") == "template":
            template = _valid(request.template, require_description=False)
            if template.from_account_id and await self._sender(template.from_account_id) is None:
                raise InvalidArgument.of(
                    "template.from_account_id", f"no account {template.from_account_id!r}"
                )
            return template
        if not request.template_id:
            raise InvalidArgument.of(
                "template_id", "is required: name a stored template, or give one in template"
            )
        return await self._store.get(request.template_id)

    async def _sender(self, account_id: str) -> Address | None:
        try:
            account = (await self._accounts.get(account_id)).account
        except NotFound:
            return None
        return Address(account.email_address, account.display_name)


def _valid(message: pb.Template, *, require_description: bool = True) -> Template:
    template = normalize_template(convert.template_to_domain(message))
    validate_template(template, "template", require_description=require_description)
    return template
