"""Generates the erpmail.v1 Python code and its type stubs from erpmail/v1/*.proto beside this file.

The one way generated code is produced: `scripts/gen-protos` runs it in development and
`setup.py` at build time, so the installed `erpmail-api` package and a checkout always agree.
With --check it writes into a temporary folder and fails when the files on disk differ.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "erpmail" / "v1"
GENERATED = ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py", "*_pb2_grpc.pyi")


def generate(out: Path) -> None:
    """Writes the generated modules for every .proto under `out`/erpmail/v1."""
    protos = sorted(p.relative_to(ROOT).as_posix() for p in PACKAGE.glob("*.proto"))
    # protoc finds the mypy-protobuf plugins next to the interpreter that has them installed.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    targets = [f"--{kind}_out={out}" for kind in ("python", "mypy", "grpc_python", "mypy_grpc")]
    result = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT), *targets, *protos],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # mypy-protobuf announces every file it writes; only errors are worth showing.
    errors = [line for line in result.stderr.splitlines() if not line.startswith("Writing mypy")]
    if result.returncode != 0:
        sys.exit("protoc failed:\n" + "\n".join(errors))


def generated_files(folder: Path) -> list[str]:
    return sorted(p.name for pattern in GENERATED for p in folder.glob(pattern))


@contextlib.contextmanager
def freshly_generated() -> Iterator[tuple[Path, list[str]]]:
    """The generated files made now, in a temporary folder beside the package (so that they can
    be moved into it in one step), with their names."""
    with tempfile.TemporaryDirectory(dir=PACKAGE) as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / "erpmail" / "v1"
        yield fresh, generated_files(fresh)


def is_current() -> bool:
    with freshly_generated() as (fresh, names):
        if names != generated_files(PACKAGE):
            return False
        _, mismatch, errors = filecmp.cmpfiles(fresh, PACKAGE, names, shallow=False)
        return not mismatch and not errors


def regenerate() -> None:
    """Brings the generated files up to date, touching only those that change: each is replaced
    in one step (os.replace), so a test run or type check reading the package meanwhile never
    finds a module missing or half written."""
    with freshly_generated() as (fresh, names):
        for name in names:
            current = PACKAGE / name
            if not current.exists() or not filecmp.cmp(fresh / name, current, shallow=False):
                os.replace(fresh / name, current)
        for stale in set(generated_files(PACKAGE)) - set(names):
            (PACKAGE / stale).unlink()


def main(argv: list[str]) -> None:
    if argv == ["--check"]:
        if not is_current():
            sys.exit("generated code is out of date: run scripts/gen-protos")
        return
    if argv:
        sys.exit("usage: generate.py [--check]")
    regenerate()


if __name__ == "__main__":
    main(sys.argv[1:])
