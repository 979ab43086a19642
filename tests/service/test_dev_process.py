"""`erpmail dev` as a real process: when erpmail cannot start after the sandbox has, the sandbox is
stopped too and the command exits with the same clear error as `erpmail serve`."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.support.process import Running

LISTENERS = ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s", "control")
ALL_SANDBOX_PORTS_FREE = [arg for name in LISTENERS for arg in (f"--{name}-port", "0")]
EXIT_TIMEOUT = 30.0  # a hang fails the test instead of blocking the suite


def test_dev_exits_with_code_2_when_erpmail_cannot_listen_after_the_sandbox_started(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        dev = Running(
            [
                "dev",
                "--listen",
                address,
                "--data-dir",
                str(tmp_path / "data"),
                *ALL_SANDBOX_PORTS_FREE,
            ]
        )
        try:
            stdout, stderr = dev.process.communicate(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            dev.process.kill()
            dev.process.communicate()
            raise AssertionError("erpmail dev did not exit after failing to listen") from None

    assert "erpmail sandbox on" in stdout, "the sandbox had started first"
    assert dev.process.returncode == 2
    assert f"erpmail: cannot listen on {address}" in stderr
    # A sandbox left running fails again at exit, as its gRPC server is collected.
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
