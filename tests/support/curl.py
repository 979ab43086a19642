"""curl, an independent client, run against the sandbox servers; its tests skip without it."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from erpmail.sandbox.tls import Certificate

CURL = shutil.which("curl")
MAX_TIME = 20  # seconds curl may take; a hang fails the test instead of blocking the suite

needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed on this machine")


async def curl(*arguments: str) -> bytes:
    """curl's output for `arguments`; the test fails if curl does."""
    assert CURL is not None
    process = await asyncio.create_subprocess_exec(
        CURL,
        "--silent",
        "--show-error",
        "--max-time",
        str(MAX_TIME),
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), MAX_TIME * 2)
    assert process.returncode == 0, err.decode()
    return out


def tls_trusting(certificate: Certificate, folder: Path) -> tuple[str, ...]:
    """curl arguments that require TLS and trust `certificate` (written into `folder`) only."""
    ca_file = folder / "sandbox.pem"
    certificate.write(ca_file)
    return ("--ssl-reqd", "--cacert", str(ca_file))
