"""ProcessingService: the Receive all action, translated to the receiver and back."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.core.clock import Clock
from erpmail.server.core.protos import timestamp
from erpmail.server.incoming.receiver import Receiver
from erpmail.v1 import processing_pb2 as pb
from erpmail.v1 import processing_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class ProcessingServicer(processing_pb2_grpc.ProcessingServiceServicer):
    def __init__(self, receiver: Receiver, clock: Clock) -> None:
        self._receiver = receiver
        self._clock = clock

    async def ReceiveEmails(
        self, request: pb.ReceiveEmailsRequest, rpc: Context
    ) -> pb.ReceiveEmailsResponse:
        receipts = await self._receiver.receive(list(request.account_ids))
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
