"""TLS for erpmail's own gRPC endpoint: a server certificate, and optionally client certificates
(mutual TLS) required from every caller."""

from __future__ import annotations

from pathlib import Path

import grpc


def server_credentials(cert: Path, key: Path, client_ca: Path | None) -> grpc.ServerCredentials:
    """Credentials for add_secure_port; with `client_ca`, a caller without a certificate signed
    by it fails the handshake."""
    return grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())],
        root_certificates=client_ca.read_bytes() if client_ca else None,
        require_client_auth=client_ca is not None,
    )
