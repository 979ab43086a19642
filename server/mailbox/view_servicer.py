"""SavedViewService, and EmailService.ListEmails's translation (EmailServicer hands the call
here): requests to the views and back; no rules live here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import grpc
from erpmail.server.core import context, paging
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import apply_mask, check_mask, numeric_id
from erpmail.server.mailbox import saved_views
from erpmail.server.mailbox import view_convert as convert
from erpmail.server.mailbox.saved_views import SavedView
from erpmail.server.mailbox.view_service import ListRequest, ViewService
from erpmail.server.mailbox.view_store import ViewStore
from erpmail.server.outgoing import convert as email_convert
from erpmail.v1 import emails_pb2 as pb
from erpmail.v1 import views_pb2 as vpb
from erpmail.v1 import views_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

# Output-only fields an update may not name.
IMMUTABLE = {"saved_view_id", "owner", "create_time", "update_time"}


class EmailLists:
    """ListEmails: the request's view, filter, query and saved view to the views and back."""

    def __init__(self, service: ViewService) -> None:
        self._service = service

    async def list_emails(self, request: pb.ListEmailsRequest) -> pb.ListEmailsResponse:
        page = await self._service.list_emails(
            ListRequest(
                view=convert.VIEW.to_domain(request.view, "view"),
                filter=convert.filter_to_domain(request.filter, "filter"),
                account_id=request.account_id,
                statuses=[
                    email_convert.STATUS.to_domain(s, f"statuses[{i}]")
                    for i, s in enumerate(request.statuses)
                ],
                query=request.query,
                order=convert.ORDER.to_domain(request.order, "order"),
                saved_view_id=(
                    _view_id(request.saved_view_id, "saved_view_id")
                    if request.saved_view_id
                    else None
                ),
                page_size=paging.page_size(request.page_size),
                page_token=request.page_token,
            ),
            context.current().actor,
        )
        return pb.ListEmailsResponse(
            emails=[
                email_convert.to_proto(e, page.senders[e.account_id], False) for e in page.emails
            ],
            next_page_token=page.next_page_token,
        )


class SavedViewServicer(views_pb2_grpc.SavedViewServiceServicer):
    def __init__(self, store: ViewStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def CreateSavedView(
        self, request: vpb.CreateSavedViewRequest, rpc: Context
    ) -> vpb.CreateSavedViewResponse:
        view = saved_views.checked(convert.saved_view_to_domain(request.saved_view))
        stored = await self._store.create_view(
            replace(view, owner=context.current().actor), self._clock.now()
        )
        return vpb.CreateSavedViewResponse(saved_view=convert.saved_view_to_proto(stored))

    async def GetSavedView(
        self, request: vpb.GetSavedViewRequest, rpc: Context
    ) -> vpb.GetSavedViewResponse:
        stored = await self._store.get_view(_view_id(request.saved_view_id))
        visible = saved_views.visible(stored, context.current().actor)
        return vpb.GetSavedViewResponse(saved_view=convert.saved_view_to_proto(visible))

    async def ListSavedViews(
        self, request: vpb.ListSavedViewsRequest, rpc: Context
    ) -> vpb.ListSavedViewsResponse:
        size = paging.page_size(request.page_size)
        found = await self._store.views_page(
            context.current().actor, _after(request.page_token), size + 1
        )
        last = found[size - 1] if len(found) > size else None
        return vpb.ListSavedViewsResponse(
            saved_views=[convert.saved_view_to_proto(v) for v in found[:size]],
            next_page_token=(
                paging.encode_token({"after": [last.name, last.saved_view_id]}) if last else ""
            ),
        )

    async def UpdateSavedView(
        self, request: vpb.UpdateSavedViewRequest, rpc: Context
    ) -> vpb.UpdateSavedViewResponse:
        view_id = _view_id(request.saved_view.saved_view_id, "saved_view.saved_view_id")
        paths = check_mask(request.update_mask, vpb.SavedView(), "update_mask", IMMUTABLE)
        actor = context.current().actor

        def edit(current: SavedView) -> SavedView:
            saved_views.owned(current, actor)
            merged = convert.saved_view_to_proto(current)
            apply_mask(paths, request.saved_view, merged)
            changed = saved_views.checked(convert.saved_view_to_domain(merged))
            # "*" copies the request's output-only fields too: the stored ones stay.
            return replace(changed, saved_view_id=current.saved_view_id, owner=current.owner)

        stored = await self._store.update_view(view_id, edit, self._clock.now())
        return vpb.UpdateSavedViewResponse(saved_view=convert.saved_view_to_proto(stored))

    async def DeleteSavedView(
        self, request: vpb.DeleteSavedViewRequest, rpc: Context
    ) -> vpb.DeleteSavedViewResponse:
        actor = context.current().actor
        await self._store.delete_view(
            _view_id(request.saved_view_id), lambda view: saved_views.owned(view, actor)
        )
        return vpb.DeleteSavedViewResponse()


def _view_id(value: str, field: str = "saved_view_id") -> int:
    return numeric_id(value, field, "a saved view")


def _after(token: str) -> tuple[str, int] | None:
    position = paging.decode_token(token)
    if position is None:
        return None
    after = position.get("after")
    if (
        not isinstance(after, list)
        or len(after) != 2
        or not isinstance(after[0], str)
        or not isinstance(after[1], int)
    ):
        raise InvalidArgument.of("page_token", "is not a token this server issued")
    return after[0], after[1]
