"""Starting and stopping a Sandbox: every listener on its own port, all or nothing at start,
nothing left listening after stop, and the certificate written where asked."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from cryptography import x509
from erpmail.sandbox.app import LISTENERS, Sandbox, SandboxConfig, SandboxStartError


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return False
    return True


async def test_every_listener_gets_its_own_port_and_stop_closes_them_all() -> None:
    sandbox = Sandbox(SandboxConfig.ephemeral())
    await sandbox.start()
    ports = dict(sandbox.ports)
    assert set(ports) == set(LISTENERS)
    assert len(set(ports.values())) == len(LISTENERS)
    assert all(accepts(port) for port in ports.values())

    await sandbox.stop()

    assert not any(accepts(port) for port in ports.values())


async def test_a_taken_port_fails_the_start_and_leaves_nothing_listening() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sandbox = Sandbox(SandboxConfig.ephemeral(pop3s_port=port))

        with pytest.raises(SandboxStartError, match=f"pop3s: cannot listen on 127.0.0.1:{port}"):
            await sandbox.start()

    # The listeners started before pop3s were closed again.
    assert sandbox.ports["smtp"] > 0
    assert not accepts(sandbox.ports["smtp"])


async def test_the_certificate_is_written_for_clients_and_covers_localhost(
    tmp_path: Path,
) -> None:
    target = tmp_path / "sandbox.pem"

    async with Sandbox(SandboxConfig.ephemeral(cert_out=target)) as sandbox:
        assert target.read_bytes() == sandbox.certificate.cert_pem

    names = (
        x509.load_pem_x509_certificate(target.read_bytes())
        .extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value.get_values_for_type(x509.DNSName)
    )
    assert "localhost" in names


async def test_stop_twice_is_harmless() -> None:
    sandbox = Sandbox(SandboxConfig.ephemeral())
    await sandbox.start()

    await sandbox.stop()
    await sandbox.stop()
