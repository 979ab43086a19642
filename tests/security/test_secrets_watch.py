"""The whole-run secret check fails a test run in which a registered password reaches a log line,
also when it is hidden in an extra field, and passes a run whose log lines hold none."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 120

CONFTEST = 'pytest_plugins = ["tests.support.secrets_watch"]\n'


def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_tiny.py").write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def test_a_registered_password_in_a_log_extra_fails_the_run_and_names_the_test(
    tmp_path: Path,
) -> None:
    run = _run(
        tmp_path,
        """
        import logging
        from tests.support.secrets_watch import secret

        def test_logs_a_password():
            password = secret("hunter2-but-longer")
            try:
                raise ConnectionError(f"login refused for {password}")
            except ConnectionError as error:
                logging.getLogger("erpmail.server.demo").info("failed", extra={"error": error})
        """,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "secrets found in log lines" in run.stdout
    assert "test_tiny.py::test_logs_a_password" in run.stdout


def test_an_api_key_secret_in_a_log_line_fails_the_run(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        """
        import logging

        def test_logs_a_key():
            key = "erpm_0123456789abcdef_" + "x" * 43
            logging.getLogger("erpmail.sandbox.demo").debug("caller %s", key)
        """,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "API key secret" in run.stdout


def test_a_run_whose_log_lines_hold_no_secret_passes(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        """
        import logging
        from tests.support.secrets_watch import secret

        def test_logs_no_password():
            secret("hunter2-but-longer")
            logging.getLogger("erpmail.server.demo").info("password changed", extra={"n": 1})
        """,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_password_logged_in_base64_as_smtp_auth_sends_it_fails_the_run(tmp_path: Path) -> None:
    run = _run(
        tmp_path,
        """
        import base64, logging
        from tests.support.secrets_watch import secret

        def test_logs_auth_plain():
            password = secret("hunter2-but-longer").encode()
            blob = base64.b64encode(b"\\0alice@sandbox.test\\0" + password)
            logging.getLogger("mail.log").info("%r >> %r", ("127.0.0.1", 1), b"AUTH PLAIN " + blob)
        """,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "test_tiny.py::test_logs_auth_plain" in run.stdout
