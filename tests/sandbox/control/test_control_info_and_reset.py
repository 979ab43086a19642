"""GetInfo, Reset, ListSmtpTranscripts, and the standard health and reflection services on the
control port."""

from __future__ import annotations

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from erpmail.sandbox.pytest_plugin import SandboxFixture
from erpmail.v1 import sandbox_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.sandbox.control.support import send_mail

SERVICE = "erpmail.v1.SandboxService"


async def test_info_reports_the_bound_ports_and_the_certificate(
    erpmail_sandbox: SandboxFixture,
) -> None:
    info = await erpmail_sandbox.stub.GetInfo(pb.GetInfoRequest())

    ports = info.ports
    assert {
        "smtp": ports.smtp,
        "smtps": ports.smtps,
        "imap": ports.imap,
        "imaps": ports.imaps,
        "pop3": ports.pop3,
        "pop3s": ports.pop3s,
        "control": ports.control,
    } == erpmail_sandbox.sandbox.ports
    assert info.host == "127.0.0.1"
    certificate = x509.load_pem_x509_certificate(info.certificate_pem.encode())
    assert certificate.public_bytes(Encoding.PEM) == erpmail_sandbox.certificate_pem


async def test_reset_forgets_mailboxes_messages_rules_and_transcripts(
    erpmail_sandbox: SandboxFixture,
) -> None:
    erpmail_sandbox.create_mailbox("a@example.com", "pw")
    await send_mail(erpmail_sandbox.smtp_port, "erp@example.com", ["a@example.com"])
    erpmail_sandbox.add_fault("smtp.data reply=451")

    await erpmail_sandbox.stub.Reset(pb.ResetRequest())

    stub = erpmail_sandbox.stub
    assert list((await stub.ListMailboxes(pb.ListMailboxesRequest())).mailboxes) == []
    assert list((await stub.ListReceivedMessages(pb.ListReceivedMessagesRequest())).messages) == []
    assert list((await stub.ListFaultRules(pb.ListFaultRulesRequest())).rules) == []
    assert list((await stub.ListSmtpTranscripts(pb.ListSmtpTranscriptsRequest())).transcripts) == []


async def test_transcripts_show_the_dialogue_with_the_password_masked(
    erpmail_sandbox: SandboxFixture,
) -> None:
    erpmail_sandbox.create_mailbox("erp@example.com", "hunter2-secret")
    await send_mail(
        erpmail_sandbox.smtp_port,
        "erp@example.com",
        ["a@example.com"],
        starttls=erpmail_sandbox.client_ssl_context(),
        login=("erp@example.com", "hunter2-secret"),
    )

    response = await erpmail_sandbox.stub.ListSmtpTranscripts(pb.ListSmtpTranscriptsRequest())

    [transcript] = response.transcripts
    texts = [line.text for line in transcript.lines]
    assert any(text.upper().startswith("MAIL FROM:<ERP@EXAMPLE.COM>") for text in texts)
    assert not any("hunter2" in text for text in texts)
    directions = {line.direction for line in transcript.lines}
    assert {pb.TRANSCRIPT_DIRECTION_CLIENT, pb.TRANSCRIPT_DIRECTION_SERVER} <= directions
    assert transcript.peer.startswith("127.0.0.1")


async def test_transcripts_are_listed_oldest_first_page_by_page(
    erpmail_sandbox: SandboxFixture,
) -> None:
    for number in range(3):
        await send_mail(erpmail_sandbox.smtp_port, f"s{number}@example.com", ["a@example.com"])

    first = await erpmail_sandbox.stub.ListSmtpTranscripts(
        pb.ListSmtpTranscriptsRequest(page_size=2)
    )
    rest = await erpmail_sandbox.stub.ListSmtpTranscripts(
        pb.ListSmtpTranscriptsRequest(page_size=2, page_token=first.next_page_token)
    )

    senders = []
    for transcript in [*first.transcripts, *rest.transcripts]:
        mail_from = next(t.text for t in transcript.lines if t.text.upper().startswith("MAIL"))
        senders.append(mail_from.split("<")[1].split("@")[0])
    assert senders == ["s0", "s1", "s2"]
    assert rest.next_page_token == ""


async def test_health_reports_serving_for_the_server_and_the_service(
    erpmail_sandbox: SandboxFixture,
) -> None:
    health = health_pb2_grpc.HealthStub(erpmail_sandbox.channel)

    for service in ("", SERVICE):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_sandbox_service(erpmail_sandbox: SandboxFixture) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(erpmail_sandbox.channel)

    call = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names: list[str] = []
    async for response in call:
        names += [s.name for s in response.list_services_response.service]

    assert SERVICE in names
    assert "grpc.health.v1.Health" in names


async def test_unknown_methods_are_unimplemented(erpmail_sandbox: SandboxFixture) -> None:
    call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = erpmail_sandbox.channel.unary_unary(
        "/erpmail.v1.SandboxService/Nope"
    )

    try:
        await call(b"")
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    else:
        raise AssertionError("an unknown method answered")
