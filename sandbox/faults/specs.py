"""Rules as dicts, JSON files and one-line specs (for command-line flags and test helpers):
`rule_to_dict`, `rule_from_dict`, `rules_from_json`, `load_rules` and `parse_rule_spec`.

Kept apart from the rules model: these are text forms of a rule, with their own keys, aliases
and value parsing, and a rule built from any of them is validated by `Rule` itself.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from erpmail.sandbox.faults.rules import (
    Action,
    ActionKind,
    Rule,
    _is_int,
    _is_number,
    _parse_kind,
)

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
