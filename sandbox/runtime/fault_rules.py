"""Fault rules between their proto form (erpmail.v1.FaultRule) and the engine's `Rule`.

The engine validates a rule as it is built and names the offending field in its ValueError
("times: must be a positive integer"); here that name becomes the proto field's path, so the
caller's BadRequest points at what it sent.
"""

from __future__ import annotations

from typing import Any

from erpmail.sandbox.faults import Action, ActionKind, FaultEngine, Rule, Stage, parse_rule_spec
from erpmail.server.core.errors import InvalidArgument
from erpmail.v1 import sandbox_pb2 as pb
from google.protobuf import duration_pb2

STAGES: dict[pb.FaultStage.ValueType, Stage] = {
    pb.FAULT_STAGE_SMTP_CONNECT: Stage.SMTP_CONNECT,
    pb.FAULT_STAGE_SMTP_EHLO: Stage.SMTP_EHLO,
    pb.FAULT_STAGE_SMTP_AUTH: Stage.SMTP_AUTH,
    pb.FAULT_STAGE_SMTP_MAIL_FROM: Stage.SMTP_MAIL_FROM,
    pb.FAULT_STAGE_SMTP_RCPT_TO: Stage.SMTP_RCPT_TO,
    pb.FAULT_STAGE_SMTP_DATA: Stage.SMTP_DATA,
    pb.FAULT_STAGE_SMTP_END_OF_DATA: Stage.SMTP_END_OF_DATA,
    pb.FAULT_STAGE_IMAP_CONNECT: Stage.IMAP_CONNECT,
    pb.FAULT_STAGE_IMAP_LOGIN: Stage.IMAP_LOGIN,
    pb.FAULT_STAGE_IMAP_SELECT: Stage.IMAP_SELECT,
    pb.FAULT_STAGE_IMAP_FETCH: Stage.IMAP_FETCH,
    pb.FAULT_STAGE_POP3_CONNECT: Stage.POP3_CONNECT,
    pb.FAULT_STAGE_POP3_LOGIN: Stage.POP3_LOGIN,
    pb.FAULT_STAGE_POP3_RETR: Stage.POP3_RETR,
}
KINDS: dict[pb.FaultActionKind.ValueType, ActionKind] = {
    pb.FAULT_ACTION_KIND_REPLY: ActionKind.REPLY,
    pb.FAULT_ACTION_KIND_DROP: ActionKind.DROP,
    pb.FAULT_ACTION_KIND_DELAY: ActionKind.DELAY,
    pb.FAULT_ACTION_KIND_THROTTLE: ActionKind.THROTTLE,
    pb.FAULT_ACTION_KIND_DISCARD: ActionKind.DISCARD,
}
_STAGE_NUMBERS = {stage: number for number, stage in STAGES.items()}
_KIND_NUMBERS = {kind: number for number, kind in KINDS.items()}

# The engine's field names (as its errors start) -> the path below FaultRule in the proto.
_PATHS = {
    "stage": "stage",
    "id": "id",
    "sender": "match.sender",
    "recipient": "match.recipient",
    "account": "match.account",
    "subject_contains": "match.subject_contains",
    "action": "action.kind",
    "code": "action.code",
    "text": "action.text",
    "delay_seconds": "action.delay",
    "bytes_per_second": "action.bytes_per_second",
    "times": "limits.times",
    "probability": "limits.probability",
    "seed": "limits.seed",
    "expires_in": "limits.expires_in",
    "greylist_seconds": "limits.greylist",
    "max_per_session": "limits.max_per_session",
    "rate_limit": "limits.rate_limit",
    "rate_window_seconds": "limits.rate_window",
}
_MAX_ID_LENGTH = 64


def rule_from_spec(spec: str, field: str = "spec") -> Rule:
    """A rule from its one-line form; INVALID_ARGUMENT naming `field` if it does not parse."""
    try:
        return parse_rule_spec(spec)
    except ValueError as error:
        raise InvalidArgument.of(field, str(error)) from None


def rule_from_proto(proto: pb.FaultRule, field: str = "rule") -> Rule:
    """The engine's rule for a proto; INVALID_ARGUMENT naming the field below `field`."""
    if proto.stage == pb.FAULT_STAGE_UNSPECIFIED:
        raise InvalidArgument.of(f"{field}.stage", "is required")
    if proto.stage not in STAGES:
        raise InvalidArgument.of(f"{field}.stage", f"{proto.stage} is not a known value")
    if len(proto.id) > _MAX_ID_LENGTH or any(c.isspace() for c in proto.id):
        raise InvalidArgument.of(
            f"{field}.id", f"must be at most {_MAX_ID_LENGTH} characters, without spaces"
        )
    match, limits = proto.match, proto.limits
    kwargs: dict[str, Any] = {
        "stage": STAGES[proto.stage],
        "id": proto.id,
        "sender": match.sender,
        "recipient": match.recipient,
        "account": match.account,
        "subject_contains": match.subject_contains,
    }
    for name in ("times", "probability", "seed", "max_per_session", "rate_limit"):
        if limits.HasField(name):
            kwargs[name] = getattr(limits, name)
    for name, key in (
        ("expires_in", "expires_in"),
        ("greylist", "greylist_seconds"),
        ("rate_window", "rate_window_seconds"),
    ):
        if limits.HasField(name):  # type: ignore[arg-type]
            kwargs[key] = _seconds(getattr(limits, name))
    action = _action_from_proto(proto.action, f"{field}.action")
    if action is not None:
        kwargs["action"] = action
    try:
        return Rule(**kwargs)
    except ValueError as error:
        raise _invalid(error, field) from None


def rule_proto(rule: Rule, engine: FaultEngine) -> pb.FaultRule:
    """A rule as the engine holds it, with its hits and the firings it has left."""
    proto = pb.FaultRule(
        id=rule.id,
        stage=_STAGE_NUMBERS[rule.stage],
        match=pb.FaultMatch(
            sender=rule.sender,
            recipient=rule.recipient,
            account=rule.account,
            subject_contains=rule.subject_contains,
        ),
        action=_action_proto(rule.action),
        hits=engine.hits(rule.id),
    )
    remaining = engine.remaining(rule.id)
    if remaining is not None:
        proto.remaining = remaining
    limits = proto.limits
    if rule.times is not None:
        limits.times = rule.times
    if rule.probability != 1.0:
        limits.probability = rule.probability
    if rule.seed is not None:
        limits.seed = rule.seed
    if rule.max_per_session is not None:
        limits.max_per_session = rule.max_per_session
    if rule.rate_limit is not None:
        limits.rate_limit = rule.rate_limit
        limits.rate_window.CopyFrom(_duration(rule.rate_window_seconds))
    if rule.expires_in is not None:
        limits.expires_in.CopyFrom(_duration(rule.expires_in))
    if rule.greylist_seconds is not None:
        limits.greylist.CopyFrom(_duration(rule.greylist_seconds))
    return proto


def _action_from_proto(proto: pb.FaultAction, field: str) -> Action | None:
    """The action asked for; None when nothing is set (the engine picks the stage's default)."""
    if proto.kind != pb.FAULT_ACTION_KIND_UNSPECIFIED and proto.kind not in KINDS:
        raise InvalidArgument.of(f"{field}.kind", f"{proto.kind} is not a known value")
    if proto == pb.FaultAction():
        return None
    return Action(
        kind=KINDS.get(proto.kind, ActionKind.REPLY),
        code=proto.code,
        text=proto.text,
        delay_seconds=_seconds(proto.delay),
        bytes_per_second=proto.bytes_per_second,
    )


def _action_proto(action: Action) -> pb.FaultAction:
    proto = pb.FaultAction(kind=_KIND_NUMBERS[action.kind])
    if action.kind is ActionKind.REPLY:
        proto.code, proto.text = action.code, action.text
    elif action.kind is ActionKind.DELAY:
        proto.delay.CopyFrom(_duration(action.delay_seconds))
    elif action.kind is ActionKind.THROTTLE:
        proto.bytes_per_second = action.bytes_per_second
    return proto


def _invalid(error: ValueError, field: str) -> InvalidArgument:
    name, separator, description = str(error).partition(": ")
    if separator and name in _PATHS:
        return InvalidArgument.of(f"{field}.{_PATHS[name]}", description)
    return InvalidArgument.of(field, str(error))


def _seconds(duration: duration_pb2.Duration) -> float:
    return float(duration.ToTimedelta().total_seconds())


def _duration(seconds: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(seconds * 1e9))
    return duration
