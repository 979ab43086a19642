"""docs/errors.md against the code: every RPC of the protos has a row, and every stable reason the
doc names (backticked UPPER_SNAKE words in a row's details column) is a string literal in the
server or sandbox sources, so that the doc can neither miss a call nor invent a reason."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import erpmail.v1
from google.rpc import code_pb2

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"
SOURCES = (ROOT / "server", ROOT / "sandbox")

RPC = re.compile(r"`([A-Z][A-Za-z0-9]*Service)\.([A-Z][A-Za-z0-9]*)`")
REASON = re.compile(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")
HEADER = ("RPC", "status", "when", "details")


@dataclass(frozen=True)
class Row:
    rpc: str  # "Service.Method", or "" on a row continuing the RPC above
    status: str
    details: str


def proto_rpcs() -> set[str]:
    """Service.Method of every RPC in the erpmail.v1 *_pb2 modules."""
    found: set[str] = set()
    for module in pkgutil.iter_modules(erpmail.v1.__path__):
        if not module.name.endswith("_pb2"):
            continue
        descriptor = importlib.import_module(f"erpmail.v1.{module.name}").DESCRIPTOR
        for service in descriptor.services_by_name.values():
            found |= {f"{service.name}.{method.name}" for method in service.methods}
    return found


def rpc_rows(markdown: str) -> list[Row]:
    """The rows of the doc's RPC tables (those headed RPC | status | when | details)."""
    rows: list[Row] = []
    in_table = False
    for line in markdown.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if tuple(cells) == HEADER:
            in_table = True
            continue
        if not in_table or set(line) <= set("|- "):
            continue
        assert len(cells) == len(HEADER), f"a row of {len(cells)} cells, not 4: {line}"
        named = RPC.fullmatch(cells[0])
        assert named or not cells[0], f"the RPC cell is not `Service.Method`: {line}"
        rpc = f"{named.group(1)}.{named.group(2)}" if named else ""
        rows.append(Row(rpc, cells[1], cells[3]))
    return rows


def reasons(rows: Iterable[Row]) -> set[str]:
    return {reason for row in rows for reason in REASON.findall(row.details)}


def string_literals(roots: Iterable[Path]) -> str:
    return "\n".join(path.read_text() for root in roots for path in sorted(root.rglob("*.py")))


def invented(names: Iterable[str], sources: str) -> list[str]:
    """The names that occur in no quoted string of the sources."""
    return sorted(n for n in names if f'"{n}"' not in sources and f"'{n}'" not in sources)


def test_every_rpc_of_the_protos_has_a_row_in_the_error_reference() -> None:
    documented = {row.rpc for row in rpc_rows(DOC.read_text())}
    rpcs = proto_rpcs()
    assert "SandboxService.WaitForMessages" in rpcs  # every *_pb2 module was read

    assert sorted(rpcs - documented) == []


def test_the_error_reference_names_no_rpc_the_protos_lack() -> None:
    documented = {row.rpc for row in rpc_rows(DOC.read_text())} - {""}

    assert sorted(documented - proto_rpcs()) == []


def test_every_status_in_the_error_reference_is_a_grpc_status_code() -> None:
    codes = {f"`{name}`" for name in code_pb2.Code.DESCRIPTOR.values_by_name} | {"(common only)"}
    statuses = {row.status for row in rpc_rows(DOC.read_text())}

    assert sorted(statuses - codes) == []


def test_every_reason_in_the_error_reference_is_a_string_of_the_server_or_sandbox_code() -> None:
    named = reasons(rpc_rows(DOC.read_text()))
    assert {"PENDING_EMAIL", "NOT_OWNER", "ADMIN_ONLY", "EMAIL_STATUS"} <= named

    assert invented(named, string_literals(SOURCES)) == []


def test_an_invented_reason_in_a_details_cell_is_caught() -> None:
    doc = "\n".join(
        [
            "| RPC | status | when | details |",
            "| --- | --- | --- | --- |",
            "| `AccountService.DeleteAccount` | `FAILED_PRECONDITION` | x | `PENDING_EMAIL` |",
            "| | `FAILED_PRECONDITION` | `account_id` | `ErrorInfo` `ACCOUNT_HAS_FRIENDS` |",
        ]
    )
    rows = rpc_rows(doc)

    assert [row.rpc for row in rows] == ["AccountService.DeleteAccount", ""]
    assert invented(reasons(rows), 'kind="PENDING_EMAIL"') == ["ACCOUNT_HAS_FRIENDS"]
