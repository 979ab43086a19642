"""ProcessingService: Receive all and processing received email again, translated to the
receiver and back."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.core.clock import Clock
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.core.protos import numeric_id, timestamp
from erpmail.server.incoming.receiver import Receiver
from erpmail.server.incoming.store import IncomingStore
from erpmail.server.outgoing.convert import STATUS
from erpmail.server.outgoing.service import OutgoingService
from erpmail.v1 import processing_pb2 as pb
from erpmail.v1 import processing_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class ProcessingServicer(processing_pb2_grpc.ProcessingServiceServicer):
    def __init__(
        self, receiver: Receiver, store: IncomingStore, outgoing: OutgoingService, clock: Clock
    ) -> None:
        self._receiver = receiver
        self._store = store
        # Says which accounts (and so which emails) the caller sees; others are NOT_FOUND.
        self._outgoing = outgoing
        self._clock = clock

    async def ProcessIncomingEmails(
        self, request: pb.ProcessIncomingEmailsRequest, rpc: Context
    ) -> pb.ProcessIncomingEmailsResponse:
        ids = [
            numeric_id(v, f"email_ids[{i}]", "an email") for i, v in enumerate(request.email_ids)
        ]
        if not ids and not request.account_id:
            raise InvalidArgument.of("account_id", "is required when no email_ids are given")
        await self._outgoing.require_visible(ids)
        processed = await self._receiver.process(
            ids,
            request.account_id,
            request.include_failed,
            await self._outgoing.visible_accounts(),
        )
        return pb.ProcessIncomingEmailsResponse(
            outcomes=[
                pb.IncomingEmailOutcome(email_id=str(i), status=STATUS.to_proto(s), error=e)
                for i, s, e in await self._store.statuses(processed)
            ]
        )

    async def ReceiveEmails(
        self, request: pb.ReceiveEmailsRequest, rpc: Context
    ) -> pb.ReceiveEmailsResponse:
        receipts = await self._receiver.receive(
            list(request.account_ids), await self._outgoing.visible_accounts()
        )
        finished = timestamp(self._clock.now())
        return pb.ReceiveEmailsResponse(
            receipts=[
                pb.AccountReceipt(
                    account_id=r.account_id,
                    ok=not r.error,
                    fetched=r.fetched,
                    stored=r.stored,
                    error=r.error,
                    finish_time=finished,
                )
                for r in receipts
            ]
        )
