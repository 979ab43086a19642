"""The fault rules model: the protocol stages, the events servers report, the actions a rule
may take, the default replies, and `Rule` itself with its validation and static matching.

Kept apart from the engine, which holds the per-rule state that changes as rules fire, and from
the dict/JSON/spec forms, so that what a rule is can be read on its own.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum


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
