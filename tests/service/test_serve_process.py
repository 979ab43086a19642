"""`erpmail serve` as a real process: ephemeral port, health, reflection, graceful stop, and a
killed server that loses nothing it reported done."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import grpc
from erpmail.v1 import accounts_pb2 as pb
from erpmail.v1 import accounts_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tests.support.accounts import account
from tests.support.process import Running

LISTENING = r"erpmail listening on (127\.0\.0\.1:\d+)"


def _serve(data_dir: Path) -> tuple[Running, str]:
    # Key handling has its own tests (tests/auth); these are about the process itself.
    server = Running(
        ["serve", "--listen", "127.0.0.1:0", "--data-dir", str(data_dir), "--allow-anonymous"]
    )
    return server, server.wait_for_line(LISTENING).group(1)


def test_serve_answers_health_and_reflection_and_stops_cleanly(tmp_path: Path) -> None:
    server, address = _serve(tmp_path)
    try:
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "erpmail.v1.AccountService", "erpmail.v1.PreferencesService"):
                reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING

            services = ProtoReflectionDescriptorDatabase(channel).get_services()
            assert "erpmail.v1.AccountService" in services
            assert "erpmail.v1.PreferencesService" in services
            assert "grpc.health.v1.Health" in services
    finally:
        code, stderr = server.stop(signal.SIGTERM)

    assert code == 0
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(entry["message"] == "stopped" for entry in logged)


def test_data_and_settings_survive_a_restart(tmp_path: Path) -> None:
    server, address = _serve(tmp_path)
    with grpc.insecure_channel(address) as channel:
        accounts_pb2_grpc.AccountServiceStub(channel).CreateAccount(
            pb.CreateAccountRequest(account=account()), timeout=10
        )
    server.stop(signal.SIGINT)

    again, address = _serve(tmp_path)
    try:
        with grpc.insecure_channel(address) as channel:
            got = accounts_pb2_grpc.AccountServiceStub(channel).GetAccount(
                pb.GetAccountRequest(account_id="support"), timeout=10
            )
        assert got.account.incoming.password_set
    finally:
        again.stop()


def test_an_account_reported_created_survives_kill_9(tmp_path: Path) -> None:
    server, address = _serve(tmp_path)
    with grpc.insecure_channel(address) as channel:
        stub = accounts_pb2_grpc.AccountServiceStub(channel)
        for i in range(20):
            stub.CreateAccount(pb.CreateAccountRequest(account=account(f"a{i}")), timeout=10)
    server.stop(signal.SIGKILL)

    again, address = _serve(tmp_path)
    try:
        with grpc.insecure_channel(address) as channel:
            listed = accounts_pb2_grpc.AccountServiceStub(channel).ListAccounts(
                pb.ListAccountsRequest(page_size=100), timeout=10
            )
        assert len(listed.accounts) == 20
    finally:
        again.stop()


def test_rpc_log_lines_carry_request_id_and_no_password(tmp_path: Path) -> None:
    server, address = _serve(tmp_path)
    with grpc.insecure_channel(address) as channel:
        _, call = accounts_pb2_grpc.AccountServiceStub(channel).CreateAccount.with_call(
            pb.CreateAccountRequest(account=account()),
            metadata=(("x-request-id", "req-123"),),
            timeout=10,
        )
        assert ("x-request-id", "req-123") in call.initial_metadata()
    _, stderr = server.stop()

    rpc_lines = [json.loads(x) for x in stderr.splitlines() if '"message": "rpc"' in x]
    assert rpc_lines[0]["request_id"] == "req-123"
    assert rpc_lines[0]["method"] == "/erpmail.v1.AccountService/CreateAccount"
    assert rpc_lines[0]["code"] == "OK"
    assert "incoming-secret-1" not in stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    first, address = _serve(tmp_path / "one")
    try:
        second = Running(["serve", "--listen", address, "--data-dir", str(tmp_path / "two")])
        code, stderr = second.process.wait(timeout=30), second.process.stderr.read()  # type: ignore[union-attr]
        assert code == 2
        assert "cannot listen on" in stderr
    finally:
        first.stop()


def test_a_second_server_on_the_same_data_folder_refuses_to_start(tmp_path: Path) -> None:
    first, address = _serve(tmp_path)
    try:
        second = Running(["serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path)])
        code, stderr = second.process.wait(timeout=30), second.process.stderr.read()  # type: ignore[union-attr]
        assert code == 2
        assert "in use by another erpmail process" in stderr
        with grpc.insecure_channel(address) as channel:  # the first one is unharmed
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        first.stop()

    again, _ = _serve(tmp_path)  # the lock went with the first process
    again.stop()


def test_the_secret_key_is_not_rotated_while_a_server_runs(tmp_path: Path) -> None:
    server, _ = _serve(tmp_path)
    try:
        key = (tmp_path / "secret.key").read_bytes()
        rotation = Running(["rotate-secret-key", "--data-dir", str(tmp_path)])
        code, stderr = rotation.process.wait(timeout=30), rotation.process.stderr.read()  # type: ignore[union-attr]
        assert code == 1
        assert "stop the server before rotating the key" in stderr
        assert (tmp_path / "secret.key").read_bytes() == key
    finally:
        server.stop()
