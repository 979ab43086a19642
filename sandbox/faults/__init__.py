"""Fault injection for the sandbox's SMTP, IMAP and POP3 servers.

A server builds an `Event` at each protocol stage (connect, EHLO, MAIL FROM, ...) and asks
`FaultEngine.decide(event)`; the answer is the `Action` of the first rule that fires, or None for
"behave normally". The engine is pure: no I/O, the clock and the random source are injected, so a
rule such as "fail twice then succeed" or "fail 30 % of the time with seed 7" gives the same
sequence on every run.

Rules come from code (`Rule(...)`), from dicts/JSON (`rule_from_dict`, `load_rules`) or from a
one-line spec for command-line flags (`parse_rule_spec`), e.g.

    smtp.rcpt_to recipient=bad@example.com reply=550 text='5.1.1 No such user'
    smtp.mail_from times=2 reply=451
    smtp.rcpt_to greylist=300
    smtp.mail_from max_per_session=5
    smtp.data drop

Besides plain matching, a rule may carry one special behaviour:
- greylisting (`greylist_seconds`): the first attempt of each sender+recipient pair is refused
  (451 by default); a retry at least `greylist_seconds` later is accepted, and so are later ones.
- a per-session limit (`max_per_session`): fires once `Event.messages_in_session` (messages
  already accepted in this session) reaches the limit; 421 by default, which closes the session.
- a rate limit (`rate_limit` events per `rate_window_seconds`): fires while that many matching
  events were let through inside the sliding window; 451 by default.

The package holds the rules model (rules.py), the engine that applies rules to events
(engine.py) and the dict, JSON and one-line spec forms of rules (specs.py); this module names what
the servers, the control service and the tests use.
"""

from erpmail.sandbox.faults.engine import FaultEngine
from erpmail.sandbox.faults.rules import (
    GENERIC_REPLY_TEXT,
    GREYLIST_CODE,
    RATE_LIMIT_CODE,
    SESSION_LIMIT_CODE,
    Action,
    ActionKind,
    Event,
    Rule,
    Stage,
)
from erpmail.sandbox.faults.specs import (
    load_rules,
    parse_rule_spec,
    rule_from_dict,
    rule_to_dict,
    rules_from_json,
)

__all__ = [
    "GENERIC_REPLY_TEXT",
    "GREYLIST_CODE",
    "RATE_LIMIT_CODE",
    "SESSION_LIMIT_CODE",
    "Action",
    "ActionKind",
    "Event",
    "FaultEngine",
    "Rule",
    "Stage",
    "load_rules",
    "parse_rule_spec",
    "rule_from_dict",
    "rule_to_dict",
    "rules_from_json",
]
