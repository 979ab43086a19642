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
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import random
import shlex
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any


class Stage(StrEnum):
    SMTP_CONNECT = "smtp.connect"
    SMTP_EHLO = "smtp.ehlo"
    SMTP_AUTH = "smtp.auth"
    SMTP_MAIL_FROM = "smtp.mail_from"
    SMTP_RCPT_TO = "smtp.rcpt_to"
    SMTP_DATA = "smtp.data"
    SMTP_END_OF_DATA = "smtp.end_of_data"
    IMAP_CONNECT = "imap.connect"
    IMAP_LOGIN = "imap.login"
    IMAP_SELECT = "imap.select"
    IMAP_FETCH = "imap.fetch"
    POP3_CONNECT = "pop3.connect"
    POP3_LOGIN = "pop3.login"
    POP3_RETR = "pop3.retr"

    @property
    def is_smtp(self) -> bool:
        return self.value.startswith("smtp.")


@dataclass(frozen=True)
class Event:
    stage: Stage
    sender: str = ""
    recipient: str = ""
    account: str = ""
    subject: str = ""
    session_id: str = ""
    # Messages already accepted in this session (so the limit N fires on message N + 1).
    messages_in_session: int = 0


class ActionKind(StrEnum):
    REPLY = "reply"
    DROP = "drop"
    DELAY = "delay"
    THROTTLE = "throttle"
    DISCARD = "discard"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    code: int = 0
    text: str = ""
    delay_seconds: float = 0.0
    bytes_per_second: int = 0


GREYLIST_CODE = 451
GREYLIST_TEXT = "4.7.1 Greylisted, please try again later"
SESSION_LIMIT_CODE = 421
SESSION_LIMIT_TEXT = "4.7.0 Too many messages in this session, closing connection"
RATE_LIMIT_CODE = 451
RATE_LIMIT_TEXT = "4.7.1 Sending rate exceeded, slow down"
DEFAULT_SMTP_CODE = 451

# Texts used when a reply rule gives a code but no text; servers may show them as they are.
DEFAULT_REPLY_TEXTS: Mapping[int, str] = {
    421: "4.3.2 Service not available, closing transmission channel",
    450: "4.2.1 Mailbox temporarily unavailable",
    451: "4.3.0 Local error in processing",
    452: "4.3.1 Insufficient system storage",
    454: "4.7.0 Temporary authentication failure",
    530: "5.7.0 Authentication required",
    535: "5.7.8 Authentication credentials invalid",
    550: "5.1.1 Mailbox unavailable",
    551: "5.1.6 User not local",
    552: "5.3.4 Message size exceeds fixed limit",
    553: "5.1.3 Mailbox name not allowed",
    554: "5.7.1 Transaction failed",
}
GENERIC_REPLY_TEXT = "Fault injected by the sandbox"

_UNSET_ACTION = Action(ActionKind.REPLY)


def default_reply_text(code: int) -> str:
    return DEFAULT_REPLY_TEXTS.get(code, GENERIC_REPLY_TEXT)


@dataclass
class Rule:
    """When to interfere (the match criteria and limits) and how (`action`).

    Empty patterns match anything; patterns are exact addresses or fnmatch globs, case-insensitive.
    Construction validates and fills defaults, raising ValueError naming the offending field.
    """

    stage: Stage
    action: Action = _UNSET_ACTION
    sender: str = ""
    recipient: str = ""
    account: str = ""
    subject_contains: str = ""
    times: int | None = None  # apply to the next N hits only
    probability: float = 1.0
    seed: int | None = None
    expires_at: float | None = None  # on the engine's clock
    expires_in: float | None = None  # seconds after the rule is added
    greylist_seconds: float | None = None
    max_per_session: int | None = None
    rate_limit: int | None = None
    rate_window_seconds: float = 1.0
    id: str = ""

    def __post_init__(self) -> None:
        self.stage = _parse_stage(self.stage)
        if not isinstance(self.action, Action):
            raise ValueError(f"action: expected an Action, got {self.action!r}")
        self._check_limits()
        self.action = self._complete_action(self.action)

    @property
    def special(self) -> str:
        """Which special behaviour the rule has: greylist, session_limit, rate_limit or ''."""
        if self.greylist_seconds is not None:
            return "greylist"
        if self.max_per_session is not None:
            return "session_limit"
        if self.rate_limit is not None:
            return "rate_limit"
        return ""

    def matches(self, event: Event) -> bool:
        """The static criteria only (no limits, no chance, no special behaviour)."""
        return (
            event.stage == self.stage
            and _address_matches(self.sender, event.sender)
            and _address_matches(self.recipient, event.recipient)
            and _address_matches(self.account, event.account)
            and self.subject_contains.casefold() in event.subject.casefold()
        )

    def _check_limits(self) -> None:
        if self.times is not None and (not _is_int(self.times) or self.times < 1):
            raise ValueError(f"times: must be a positive integer, got {self.times!r}")
        if not _is_number(self.probability) or not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability: must be between 0 and 1, got {self.probability!r}")
        if self.seed is not None and not _is_int(self.seed):
            raise ValueError(f"seed: must be an integer, got {self.seed!r}")
        for name in ("expires_at", "expires_in"):
            value = getattr(self, name)
            if value is not None and not _is_number(value):
                raise ValueError(f"{name}: must be a number of seconds, got {value!r}")
        if self.expires_in is not None and self.expires_in < 0:
            raise ValueError(f"expires_in: must not be negative, got {self.expires_in!r}")
        if self.greylist_seconds is not None and (
            not _is_number(self.greylist_seconds) or self.greylist_seconds < 0
        ):
            raise ValueError(
                f"greylist_seconds: must be a non-negative number, got {self.greylist_seconds!r}"
            )
        for name in ("max_per_session", "rate_limit"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 0):
                raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")
        if not _is_number(self.rate_window_seconds) or self.rate_window_seconds <= 0:
            raise ValueError(
                f"rate_window_seconds: must be positive, got {self.rate_window_seconds!r}"
            )
        chosen = [
            name
            for name in ("greylist_seconds", "max_per_session", "rate_limit")
            if getattr(self, name) is not None
        ]
        if len(chosen) > 1:
            raise ValueError(f"{chosen[1]}: a rule takes only one of {', '.join(chosen)}")
        for name in ("sender", "recipient", "account", "subject_contains", "id"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name}: must be a string, got {getattr(self, name)!r}")

    def _complete_action(self, action: Action) -> Action:
        kind = _parse_kind(action.kind)
        if action is _UNSET_ACTION:
            code, text = self._default_reply()
            return Action(ActionKind.REPLY, code=code, text=text)
        if kind is ActionKind.REPLY:
            code = action.code
            if not _is_int(code):
                raise ValueError(f"code: must be an integer reply code, got {code!r}")
            if code == 0 and self.stage.is_smtp:
                code = DEFAULT_SMTP_CODE
            if code != 0 and not 400 <= code <= 599:
                raise ValueError(f"code: must be a 4xx or 5xx reply code, got {code}")
            return replace(
                action, kind=kind, code=code, text=action.text or default_reply_text(code)
            )
        if kind is ActionKind.DELAY and (
            not _is_number(action.delay_seconds) or action.delay_seconds <= 0
        ):
            raise ValueError(f"delay_seconds: must be positive, got {action.delay_seconds!r}")
        if kind is ActionKind.THROTTLE and (
            not _is_int(action.bytes_per_second) or action.bytes_per_second <= 0
        ):
            raise ValueError(
                f"bytes_per_second: must be a positive integer, got {action.bytes_per_second!r}"
            )
        return replace(action, kind=kind)

    def _default_reply(self) -> tuple[int, str]:
        special = self.special
        if special == "greylist":
            return GREYLIST_CODE, GREYLIST_TEXT
        if special == "session_limit":
            return SESSION_LIMIT_CODE, SESSION_LIMIT_TEXT
        if special == "rate_limit":
            return RATE_LIMIT_CODE, RATE_LIMIT_TEXT
        code = DEFAULT_SMTP_CODE if self.stage.is_smtp else 0
        return code, default_reply_text(code)


@dataclass
class _RuleState:
    rule: Rule
    remaining: int | None
    expires_at: float | None
    rng: random.Random
    hits: int = 0
    greylist_first_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    greylist_passed: set[tuple[str, str]] = field(default_factory=set)
    recent: deque[float] = field(default_factory=deque)


class FaultEngine:
    """An ordered list of rules; `decide` returns the action of the first one that fires.

    Thread-safe so a control endpoint on another thread may edit rules while servers decide.
    """

    def __init__(
        self, rules: Iterable[Rule] = (), *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._states: dict[str, _RuleState] = {}
        self._rules_per_stage: Counter[Stage] = Counter()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> str:
        """Appends a rule (after the existing ones) and returns its id."""
        with self._lock:
            rule_id = rule.id or self._new_id()
            if rule_id in self._states:
                raise ValueError(f"id: a rule with id {rule_id!r} already exists")
            rule = replace(rule, id=rule_id)
            expires_at = rule.expires_at
            if rule.expires_in is not None:
                from_now = self._clock() + rule.expires_in
                expires_at = from_now if expires_at is None else min(expires_at, from_now)
            self._states[rule_id] = _RuleState(
                rule=rule,
                remaining=rule.times,
                expires_at=expires_at,
                rng=random.Random(rule.seed),
            )
            self._rules_per_stage[rule.stage] += 1
            return rule_id

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            return self._forget(rule_id)

    def list(self) -> list[Rule]:
        with self._lock:
            return [state.rule for state in self._states.values()]

    def clear(self) -> None:
        with self._lock:
            self._states.clear()
            self._rules_per_stage.clear()

    def watches(self, stage: Stage) -> bool:
        """Whether any rule is about this stage: servers skip building Events when not."""
        return self._rules_per_stage[stage] > 0

    def hits(self, rule_id: str) -> int:
        """How many times the rule has fired (0 for an unknown id)."""
        with self._lock:
            state = self._states.get(rule_id)
            return state.hits if state else 0

    def remaining(self, rule_id: str) -> int | None:
        """Firings left for a rule with `times`, None when unlimited or unknown."""
        with self._lock:
            state = self._states.get(rule_id)
            return state.remaining if state else None

    def decide(self, event: Event) -> Action | None:
        with self._lock:
            now = self._clock()
            for rule_id, state in list(self._states.items()):
                if state.expires_at is not None and now >= state.expires_at:
                    self._forget(rule_id)
                    continue
                if not state.rule.matches(event) or not _fires(state, event, now):
                    continue
                state.hits += 1
                if state.remaining is not None:
                    state.remaining -= 1
                    if state.remaining == 0:
                        self._forget(rule_id)
                return state.rule.action
            return None

    def _forget(self, rule_id: str) -> bool:
        state = self._states.pop(rule_id, None)
        if state is None:
            return False
        self._rules_per_stage[state.rule.stage] -= 1
        return True

    def _new_id(self) -> str:
        while True:
            candidate = f"rule-{next(self._ids)}"
            if candidate not in self._states:
                return candidate


def _fires(state: _RuleState, event: Event, now: float) -> bool:
    rule = state.rule
    special = rule.special
    if special == "greylist" and not _greylist_refuses(state, event, now):
        return False
    if special == "session_limit":
        assert rule.max_per_session is not None
        if event.messages_in_session < rule.max_per_session:
            return False
    if special == "rate_limit" and not _rate_exceeded(state, now):
        return False
    # Chance is rolled only for hits that would otherwise fire, so a seed gives one sequence.
    return rule.probability >= 1.0 or state.rng.random() < rule.probability


def _greylist_refuses(state: _RuleState, event: Event, now: float) -> bool:
    assert state.rule.greylist_seconds is not None
    pair = (_bare(event.sender), _bare(event.recipient))
    if pair in state.greylist_passed:
        return False
    first_seen = state.greylist_first_seen.get(pair)
    if first_seen is None:
        state.greylist_first_seen[pair] = now
        return True
    if now - first_seen < state.rule.greylist_seconds:
        return True
    del state.greylist_first_seen[pair]
    state.greylist_passed.add(pair)
    return False


def _rate_exceeded(state: _RuleState, now: float) -> bool:
    rule = state.rule
    assert rule.rate_limit is not None
    while state.recent and now - state.recent[0] >= rule.rate_window_seconds:
        state.recent.popleft()
    if len(state.recent) >= rule.rate_limit:
        return True
    state.recent.append(now)
    return False


def _bare(address: str) -> str:
    return address.strip().strip("<>").strip().casefold()


def _address_matches(pattern: str, value: str) -> bool:
    if not pattern:
        return True
    return fnmatch.fnmatchcase(_bare(value), pattern.strip().casefold())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_stage(value: object) -> Stage:
    try:
        return Stage(str(value))
    except ValueError:
        known = ", ".join(stage.value for stage in Stage)
        raise ValueError(f"stage: unknown stage {value!r} (known: {known})") from None


def _parse_kind(value: object) -> ActionKind:
    try:
        return ActionKind(str(value))
    except ValueError:
        known = ", ".join(kind.value for kind in ActionKind)
        raise ValueError(f"action: unknown kind {value!r} (known: {known})") from None


# --- dicts, JSON files and one-line specs -------------------------------------------------------

_RULE_KEYS = {
    "stage",
    "sender",
    "recipient",
    "account",
    "subject_contains",
    "times",
    "probability",
    "seed",
    "expires_at",
    "expires_in",
    "greylist_seconds",
    "max_per_session",
    "rate_limit",
    "rate_window_seconds",
    "id",
}
_ACTION_KEYS = {"kind", "code", "text", "delay_seconds", "bytes_per_second"}
# Short forms accepted in dicts and specs alongside the canonical names.
_ALIASES = {
    "subject": "subject_contains",
    "greylist": "greylist_seconds",
    "window": "rate_window_seconds",
    "from": "sender",
    "to": "recipient",
}
_FLAT_ACTION_KEYS = {"reply", "drop", "delay", "throttle", "discard", "text", "action"}


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """The canonical dict form (only fields that differ from their defaults, plus stage/action)."""
    result: dict[str, Any] = {"stage": rule.stage.value}
    defaults = Rule(stage=rule.stage, action=Action(ActionKind.DROP))
    for key in sorted(_RULE_KEYS - {"stage"}):
        value = getattr(rule, key)
        if value != getattr(defaults, key):
            result[key] = value
    action = rule.action
    action_dict: dict[str, Any] = {"kind": action.kind.value}
    if action.kind is ActionKind.REPLY:
        action_dict.update(code=action.code, text=action.text)
    elif action.kind is ActionKind.DELAY:
        action_dict["delay_seconds"] = action.delay_seconds
    elif action.kind is ActionKind.THROTTLE:
        action_dict["bytes_per_second"] = action.bytes_per_second
    result["action"] = action_dict
    return result


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """Builds a rule from its dict form: `action` nested ({"kind": "reply", "code": 550}) or flat
    ({"reply": 550, "text": "..."}, {"drop": true}, {"delay": 2.5}, {"throttle": 100})."""
    if not isinstance(data, Mapping):
        raise ValueError(f"rule: expected an object, got {data!r}")
    fields: dict[str, Any] = {}
    flat_action: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = _ALIASES.get(raw_key, raw_key)
        if key in _RULE_KEYS:
            fields[key] = value
        elif key in _FLAT_ACTION_KEYS:
            flat_action[key] = value
        else:
            raise ValueError(f"{raw_key}: unknown rule field")
    if "stage" not in fields:
        raise ValueError("stage: required")
    action = _action_from_fields(flat_action)
    if action is not None:
        fields["action"] = action
    return Rule(**fields)


def _action_from_fields(flat: Mapping[str, Any]) -> Action | None:
    nested = flat.get("action")
    if nested is not None:
        if set(flat) - {"action"}:
            extra = sorted(set(flat) - {"action"})[0]
            raise ValueError(f"{extra}: give the action either nested in 'action' or flat")
        if not isinstance(nested, Mapping):
            raise ValueError(f"action: expected an object, got {nested!r}")
        unknown = set(nested) - _ACTION_KEYS
        if unknown:
            raise ValueError(f"action.{sorted(unknown)[0]}: unknown action field")
        if "kind" not in nested:
            raise ValueError("action.kind: required")
        return Action(**{**nested, "kind": _parse_kind(nested["kind"])})
    kinds = [key for key in ("reply", "drop", "delay", "throttle", "discard") if key in flat]
    if len(kinds) > 1:
        raise ValueError(f"{kinds[1]}: a rule takes one action, got {' and '.join(kinds)}")
    text = flat.get("text", "")
    if not isinstance(text, str):
        raise ValueError(f"text: must be a string, got {text!r}")
    if not kinds:
        if text:
            return Action(ActionKind.REPLY, text=text)
        return None
    kind = kinds[0]
    value = flat[kind]
    if kind == "reply":
        return Action(ActionKind.REPLY, code=_as_int("reply", value), text=text)
    if text:
        raise ValueError(f"text: only a reply action has a text, not {kind}")
    if kind == "delay":
        return Action(ActionKind.DELAY, delay_seconds=_as_float("delay", value))
    if kind == "throttle":
        return Action(ActionKind.THROTTLE, bytes_per_second=_as_int("throttle", value))
    if value not in (True, "true", "yes", "1", 1):
        raise ValueError(f"{kind}: expected true, got {value!r}")
    return Action(ActionKind.DROP if kind == "drop" else ActionKind.DISCARD)


def rules_from_json(text: str) -> list[Rule]:
    """Rules from JSON: a list of rule objects or {"rules": [...]}. ValueError names the rule."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"faults: not valid JSON: {error}") from None
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if not isinstance(data, list):
        raise ValueError('faults: expected a list of rules or {"rules": [...]}')
    rules = []
    for index, item in enumerate(data):
        try:
            rules.append(rule_from_dict(item))
        except ValueError as error:
            raise ValueError(f"rule #{index + 1}: {error}") from None
    return rules


def load_rules(path: Path | str) -> list[Rule]:
    return rules_from_json(Path(path).read_text(encoding="utf-8"))


def parse_rule_spec(text: str) -> Rule:
    """Parses 'STAGE key=value ... [drop|discard]' (shell quoting for values with spaces).

    Keys are the rule's dict keys plus: reply=CODE text=..., delay=SECONDS, throttle=BYTES_PER_S,
    subject=WORD, greylist=SECONDS, rate=N[/SECONDS]. Bare words drop/discard are actions.
    """
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise ValueError(f"spec: {error}") from None
    if not tokens:
        raise ValueError("stage: required (the spec is empty)")
    data: dict[str, Any] = {"stage": tokens[0]}
    for token in tokens[1:]:
        key, separator, value = token.partition("=")
        if not separator:
            if key not in ("drop", "discard"):
                raise ValueError(f"{key}: expected key=value")
            data[key] = True
        elif key == "rate":
            count, _, window = value.partition("/")
            data["rate_limit"] = _as_int("rate", count)
            if window:
                data["rate_window_seconds"] = _as_float("rate", window)
        else:
            data[key] = _spec_value(_ALIASES.get(key, key), value)
    return rule_from_dict(data)


_SPEC_INTS = {"times", "seed", "max_per_session", "rate_limit", "reply", "throttle", "code"}
_SPEC_FLOATS = {
    "probability",
    "expires_at",
    "expires_in",
    "greylist_seconds",
    "rate_window_seconds",
    "delay",
}


def _spec_value(key: str, value: str) -> Any:
    if key in _SPEC_INTS:
        return _as_int(key, value)
    if key in _SPEC_FLOATS:
        return _as_float(key, value)
    return value


def _as_int(name: str, value: Any) -> int:
    if _is_int(value):
        return int(value)
    try:
        return int(str(value))
    except ValueError:
        raise ValueError(f"{name}: expected an integer, got {value!r}") from None


def _as_float(name: str, value: Any) -> float:
    if _is_number(value):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
