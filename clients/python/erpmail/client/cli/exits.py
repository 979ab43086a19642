"""Exit codes of erpmailctl, which scripts may rely on, and the gRPC status each one stands for."""

from __future__ import annotations

import grpc
from erpmail.client import ErrorDetails

OK = 0
FAILED = 1  # the command ran, but what it did failed: a test step, an email, a run's account
USAGE = 2  # bad command line (argparse uses 2 too), unreadable file, bad JSON
UNREACHABLE = 3
REFUSED = 4
NOT_FOUND = 5
DENIED = 6
SERVER_ERROR = 7
INTERRUPTED = 130  # Ctrl-C outside `watch`, as shells report SIGINT

_BY_STATUS = {
    grpc.StatusCode.UNAVAILABLE: UNREACHABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: UNREACHABLE,
    grpc.StatusCode.INVALID_ARGUMENT: REFUSED,
    grpc.StatusCode.FAILED_PRECONDITION: REFUSED,
    grpc.StatusCode.ALREADY_EXISTS: REFUSED,
    grpc.StatusCode.OUT_OF_RANGE: REFUSED,
    grpc.StatusCode.NOT_FOUND: NOT_FOUND,
    grpc.StatusCode.UNAUTHENTICATED: DENIED,
    grpc.StatusCode.PERMISSION_DENIED: DENIED,
}

EPILOG = """\
exit codes:
  0  ok
  1  the command ran but what it did failed (a test step, a failed email, a run with errors)
  2  usage error (bad option, unreadable file, bad JSON)
  3  erpmail unreachable (UNAVAILABLE, DEADLINE_EXCEEDED)
  4  request refused (INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, OUT_OF_RANGE)
  5  not found (NOT_FOUND)
  6  not allowed (UNAUTHENTICATED, PERMISSION_DENIED)
  7  any other server error
Ctrl-C ends `watch` with 0 and any other command with 130.
"""


def exit_code(status: grpc.StatusCode) -> int:
    """The exit code of a command that ended with a failed call of this status."""
    return _BY_STATUS.get(status, SERVER_ERROR)


def describe(details: ErrorDetails) -> str:
    """What a failed call says, for stderr (ErrorDetails' own wording, shared with scripts that
    use the client)."""
    return str(details)


class UsageError(Exception):
    """A command line that parses but cannot be used (exit 2); the message says why."""
