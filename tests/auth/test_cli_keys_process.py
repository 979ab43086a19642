"""`erpmail serve` requires keys by default; `erpmail keys create|list|revoke` on the server
machine make and withdraw them, as real processes against a running server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import grpc
import pytest
from erpmail.v1 import keys_pb2 as pb
from erpmail.v1 import keys_pb2_grpc

from tests.auth.conftest import bearer
from tests.support.process import ERPMAIL, Running

LISTENING = r"erpmail listening on (127\.0\.0\.1:\d+)"
COMMAND_TIMEOUT = 30.0


def _erpmail(*args: str) -> str:
    done = subprocess.run(
        [ERPMAIL, *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=True
    )
    return done.stdout


def _list_keys(address: str, secret: str | None) -> grpc.StatusCode:
    with grpc.insecure_channel(address) as channel:
        try:
            keys_pb2_grpc.ApiKeyServiceStub(channel).ListApiKeys(
                pb.ListApiKeysRequest(), metadata=bearer(secret) if secret else (), timeout=10
            )
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def test_keys_made_and_revoked_on_the_command_line_open_and_close_a_served_erpmail(
    tmp_path: Path,
) -> None:
    data = str(tmp_path / "data")
    created = _erpmail("keys", "create", "--name", "ops", "--role", "admin", "--data-dir", data)
    secret = re.search(r"secret: (\S+)", created).group(1)  # type: ignore[union-attr]
    key_id = re.search(r"key_id: (\S+)", created).group(1)  # type: ignore[union-attr]

    server = Running(["serve", "--listen", "127.0.0.1:0", "--data-dir", data])
    try:
        address = server.wait_for_line(LISTENING).group(1)
        assert _list_keys(address, None) == grpc.StatusCode.UNAUTHENTICATED
        assert _list_keys(address, secret) == grpc.StatusCode.OK

        listed = _erpmail("keys", "list", "--data-dir", data)
        _erpmail("keys", "revoke", key_id, "--data-dir", data)
        assert _list_keys(address, secret) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        _, stderr = server.stop()

    assert key_id in listed and "active" in listed
    assert secret not in listed
    assert secret not in stderr
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(e.get("key_id") == key_id for e in logged)
    assert not any(e["level"] == "warning" for e in logged)


def test_a_user_key_without_a_user_id_is_refused_by_the_command(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        _erpmail("keys", "create", "--name", "bob", "--role", "user", "--data-dir", str(tmp_path))
    assert refused.value.returncode == 1
    assert "user_id" in refused.value.stderr


def test_serve_without_keys_says_so_loudly(tmp_path: Path) -> None:
    server = Running(
        ["serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path), "--allow-anonymous"]
    )
    try:
        address = server.wait_for_line(LISTENING).group(1)
        assert _list_keys(address, None) == grpc.StatusCode.OK
    finally:
        _, stderr = server.stop()
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(e["level"] == "warning" and "NO API KEYS" in e["message"] for e in logged)
