"""Sending mail to a running sandbox with the standard library's blocking clients, from a thread
(the sandbox runs on the test's event loop), and reading gRPC error details."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.errors import field_violations

__all__ = ["field_violations", "make_message", "resource_name", "send_mail"]

TIMEOUT = 10.0


def make_message(
    sender: str, recipients: list[str], subject: str = "Hello", body: str = "Hi there.\n"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="sender.test")
    message.set_content(body)
    return message


async def send_mail(
    port: int,
    sender: str,
    recipients: list[str],
    subject: str = "Hello",
    *,
    implicit_tls: ssl.SSLContext | None = None,
    starttls: ssl.SSLContext | None = None,
    login: tuple[str, str] | None = None,
) -> EmailMessage:
    """Sends one message with smtplib from a worker thread; returns what was sent."""
    message = make_message(sender, recipients, subject)

    def send() -> None:
        client: smtplib.SMTP
        if implicit_tls is not None:
            client = smtplib.SMTP_SSL("127.0.0.1", port, timeout=TIMEOUT, context=implicit_tls)
        else:
            client = smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT)
        with client:
            if starttls is not None:
                client.starttls(context=starttls)
            if login is not None:
                client.login(*login)
            client.send_message(message, from_addr=sender, to_addrs=recipients)

    await asyncio.to_thread(send)
    return message


def resource_name(error: grpc.aio.AioRpcError) -> str:
    """The ResourceInfo resource_name of a NOT_FOUND (or ALREADY_EXISTS) error."""
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            info = error_details_pb2.ResourceInfo()
            detail.Unpack(info)
            return str(info.resource_name)
    raise AssertionError("no ResourceInfo in the error details")
