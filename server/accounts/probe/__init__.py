"""The account connection test ("Test" / "Check the account"): talk to the account's servers.

Each server is walked through the steps a real session takes (connect, TLS, greeting, log in,
open the mailbox, optionally send a test email) and every step is reported with the server's reply
or the reason it failed. A failure ends that server's walk; the other server is still tried.
Nothing here raises for a network problem and nothing waits longer than the target's timeout per
step, so a dead, silent or misconfigured server always comes back as a failed step.

`steps` runs and words the steps; `smtp`, `imap` and `pop3` say what each protocol's steps are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from erpmail.server.accounts.probe.imap import ImapProbe
from erpmail.server.accounts.probe.pop3 import Pop3Probe
from erpmail.server.accounts.probe.smtp import SmtpProbe
from erpmail.server.accounts.probe.steps import (
    INCOMING,
    OUTGOING,
    ServerProbe,
    Step,
    Unconfigured,
    walk,
)
from erpmail.server.accounts.probe.target import ProbeTarget, Security, ServerEndpoint


async def probe_account(target: ProbeTarget, *, send_test_email: bool = False) -> list[Step]:
    """Tests the account's outgoing and incoming servers (at the same time); outgoing first."""
    secrets = [e.password for e in (target.outgoing, target.incoming) if e and e.password]
    runs: list[Awaitable[list[Step]]] = []
    if target.outgoing is not None:
        smtp = SmtpProbe(target, target.outgoing, send_test_email)
        runs.append(walk(OUTGOING, smtp, target.timeout, secrets))
    if target.incoming is not None:
        incoming: ServerProbe
        if target.incoming_protocol == "imap":
            incoming = ImapProbe(target, target.incoming)
        elif target.incoming_protocol == "pop3":
            incoming = Pop3Probe(target, target.incoming)
        else:
            incoming = Unconfigured("no incoming protocol (IMAP or POP3) is chosen")
        runs.append(walk(INCOMING, incoming, target.timeout, secrets))
    results = await asyncio.gather(*runs)
    return [step for steps in results for step in steps]


__all__ = [
    "ProbeTarget",
    "Security",
    "ServerEndpoint",
    "Step",
    "probe_account",
]
