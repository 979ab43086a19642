"""Running erpmail commands as real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ERPMAIL = str(Path(sys.executable).with_name("erpmail"))
STARTUP_TIMEOUT = 30.0


class Running:
    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [ERPMAIL, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.stdout_lines: list[str] = []

    def wait_for_line(self, pattern: str, timeout: float = STARTUP_TIMEOUT) -> re.Match[str]:
        """Reads stdout until a line matches; fails if the process ends or time runs out."""
        deadline = time.monotonic() + timeout
        stream: IO[str] = self.process.stdout  # type: ignore[assignment]
        os.set_blocking(stream.fileno(), False)
        buffer = ""
        while time.monotonic() < deadline:
            chunk = stream.readline()
            if chunk:
                buffer += chunk
                if chunk.endswith("\n"):
                    self.stdout_lines.append(buffer)
                    match = re.search(pattern, buffer)
                    buffer = ""
                    if match:
                        return match
                continue
            if self.process.poll() is not None:
                raise AssertionError(f"process ended: {self.process.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> tuple[int, str]:
        """Sends the signal, waits for the exit; returns the exit code and stderr."""
        self.process.send_signal(sig)
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr
