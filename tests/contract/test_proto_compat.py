"""scripts/proto-compat against the released baseline: each kind of incompatible change in a copy
of the protos fails naming the place; additions and properly reserved removals pass."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "proto-compat"


def run(protos_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(SCRIPT)]
    if protos_dir is not None:
        args += ["--protos-dir", str(protos_dir)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def protos(tmp_path: Path) -> Path:
    """A copy of the proto root (erpmail/v1/*.proto) to break."""
    target = tmp_path / "erpmail" / "v1"
    target.mkdir(parents=True)
    for proto in (ROOT / "protos" / "erpmail" / "v1").glob("*.proto"):
        shutil.copy(proto, target)
    return tmp_path


def edit(protos: Path, file: str, old: str, new: str) -> None:
    path = protos / "erpmail" / "v1" / file
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    path.write_text(text.replace(old, new))


def assert_fails_naming(protos: Path, *parts: str) -> None:
    result = run(protos)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if all(p in line for p in parts)]
    assert lines, result.stderr


def test_the_real_protos_are_compatible_with_the_release() -> None:
    result = run()
    assert result.returncode == 0, result.stderr


def test_an_unchanged_copy_passes(protos: Path) -> None:
    assert run(protos).returncode == 0


def test_a_removed_field_without_reservation_fails(protos: Path) -> None:
    edit(protos, "directory.proto", "  string user_email = 4;\n", "")
    assert_fails_naming(
        protos, "directory.proto", "erpmail.v1.Employee", 'field 4 "user_email"', "removed"
    )


def test_a_removed_field_with_only_its_number_reserved_fails(protos: Path) -> None:
    edit(protos, "directory.proto", "  string user_email = 4;\n", "  reserved 4;\n")
    assert_fails_naming(protos, "erpmail.v1.Employee", '"user_email"', "reserving its name")


def test_a_removed_field_with_number_and_name_reserved_passes(protos: Path) -> None:
    edit(
        protos,
        "directory.proto",
        "  string user_email = 4;\n",
        '  reserved 4;\n  reserved "user_email";\n',
    )
    result = run(protos)
    assert result.returncode == 0, result.stderr


def test_a_number_reused_with_another_type_fails(protos: Path) -> None:
    edit(protos, "directory.proto", "  string user_email = 4;\n", "  int64 user_email = 4;\n")
    assert_fails_naming(
        protos, "erpmail.v1.Employee", 'field 4 "user_email"', "type from string to int64"
    )


def test_a_number_reused_with_another_name_fails(protos: Path) -> None:
    edit(protos, "directory.proto", "  string user_email = 4;\n", "  string login = 4;\n")
    assert_fails_naming(protos, "erpmail.v1.Employee", 'field 4 "user_email"', 'reused as "login"')


def test_a_singular_field_made_repeated_fails(protos: Path) -> None:
    edit(
        protos,
        "directory.proto",
        "  string user_email = 4;\n",
        "  repeated string user_email = 4;\n",
    )
    assert_fails_naming(protos, "erpmail.v1.Employee", "from singular to repeated")


def test_an_added_field_passes(protos: Path) -> None:
    edit(
        protos,
        "directory.proto",
        "  string user_email = 4;\n",
        "  string user_email = 4;\n  // The employee's phone.\n  string phone = 99;\n",
    )
    result = run(protos)
    assert result.returncode == 0, result.stderr


def test_a_removed_rpc_fails(protos: Path) -> None:
    edit(
        protos,
        "directory.proto",
        "  rpc DeleteContact(DeleteContactRequest) returns (DeleteContactResponse);\n",
        "",
    )
    assert_fails_naming(
        protos,
        "directory.proto",
        "service erpmail.v1.DirectoryService",
        "rpc DeleteContact removed",
    )


def test_a_changed_streaming_fails(protos: Path) -> None:
    edit(
        protos,
        "emails.proto",
        "returns (stream WatchEmailsResponse);",
        "returns (WatchEmailsResponse);",
    )
    assert_fails_naming(protos, "emails.proto", "rpc WatchEmails", "server side changed to unary")


def test_a_removed_enum_value_fails(protos: Path) -> None:
    edit(protos, "directory.proto", "  EMPLOYEE_STATUS_INACTIVE = 2;\n", "")
    assert_fails_naming(
        protos, "directory.proto", "enum erpmail.v1.EmployeeStatus", "EMPLOYEE_STATUS_INACTIVE = 2"
    )


def test_a_renumbered_enum_value_fails(protos: Path) -> None:
    edit(
        protos, "directory.proto", "EMPLOYEE_STATUS_INACTIVE = 2;", "EMPLOYEE_STATUS_INACTIVE = 3;"
    )
    assert_fails_naming(protos, "EMPLOYEE_STATUS_INACTIVE = 2", "renumbered to 3")


def test_a_removed_message_fails(protos: Path) -> None:
    path = protos / "erpmail" / "v1" / "directory.proto"
    path.write_text(re.sub(r"\bWorkGroup\b", "Team", path.read_text()))
    assert_fails_naming(protos, "message erpmail.v1.WorkGroup removed")
