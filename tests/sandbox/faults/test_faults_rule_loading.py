from __future__ import annotations

import json
from pathlib import Path

import pytest
from erpmail.sandbox.faults import (
    Action,
    ActionKind,
    Rule,
    Stage,
    load_rules,
    parse_rule_spec,
    rule_from_dict,
    rule_to_dict,
    rules_from_json,
)


def test_spec_with_quoted_text_builds_a_reply_rule() -> None:
    rule = parse_rule_spec("smtp.rcpt_to recipient=bad@x reply=550 text='no such user'")
    assert rule.stage is Stage.SMTP_RCPT_TO
    assert rule.recipient == "bad@x"
    assert rule.action == Action(ActionKind.REPLY, code=550, text="no such user")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("smtp.data drop", Action(ActionKind.DROP)),
        ("smtp.end_of_data discard", Action(ActionKind.DISCARD)),
        ("smtp.ehlo delay=2.5", Action(ActionKind.DELAY, delay_seconds=2.5)),
        ("imap.fetch throttle=100", Action(ActionKind.THROTTLE, bytes_per_second=100)),
    ],
)
def test_spec_action_words(spec: str, expected: Action) -> None:
    assert parse_rule_spec(spec).action == expected


def test_spec_limits_and_special_behaviours() -> None:
    rule = parse_rule_spec("smtp.mail_from times=2 probability=0.5 seed=3 expires_in=60 reply=451")
    assert (rule.times, rule.probability, rule.seed, rule.expires_in) == (2, 0.5, 3, 60.0)
    assert parse_rule_spec("smtp.rcpt_to greylist=300").greylist_seconds == 300
    rate = parse_rule_spec("smtp.mail_from rate=10/2")
    assert (rate.rate_limit, rate.rate_window_seconds) == (10, 2.0)
    content = parse_rule_spec("smtp.end_of_data subject=invoice reply=554")
    assert content.subject_contains == "invoice"


def test_reply_without_text_gets_a_standard_text() -> None:
    assert parse_rule_spec("smtp.rcpt_to reply=550").action.text.startswith("5.1.1")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("smtp.nothing reply=550", "stage"),
        ("smtp.rcpt_to reply=250", "code"),
        ("smtp.rcpt_to reply=5xx", "reply"),
        ("smtp.rcpt_to times=0 reply=550", "times"),
        ("smtp.rcpt_to probability=2 reply=550", "probability"),
        ("smtp.rcpt_to colour=red", "colour"),
        ("smtp.rcpt_to reply=550 drop", "drop"),
        ("smtp.ehlo delay=0", "delay_seconds"),
        ("smtp.rcpt_to greylist=60 max_per_session=2", "max_per_session"),
        ("", "stage"),
    ],
)
def test_invalid_specs_raise_value_error_naming_the_field(spec: str, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^(rule #\d+: )?{field}\b"):
        parse_rule_spec(spec)


def test_dict_round_trip_keeps_the_rule() -> None:
    rule = Rule(
        Stage.SMTP_RCPT_TO,
        Action(ActionKind.REPLY, code=550, text="no"),
        recipient="*@bad.example",
        times=3,
        probability=0.25,
        seed=9,
        id="r1",
    )
    data = rule_to_dict(rule)
    assert data["action"] == {"kind": "reply", "code": 550, "text": "no"}
    assert json.loads(json.dumps(data)) == data
    assert rule_from_dict(data) == rule


def test_flat_and_nested_action_dicts_are_equivalent() -> None:
    flat = rule_from_dict({"stage": "smtp.mail_from", "reply": 421, "text": "bye"})
    nested = rule_from_dict(
        {"stage": "smtp.mail_from", "action": {"kind": "reply", "code": 421, "text": "bye"}}
    )
    assert flat == nested


def test_rules_load_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(
        json.dumps(
            {
                "rules": [
                    {"stage": "smtp.rcpt_to", "recipient": "bad@x", "reply": 550},
                    {"stage": "smtp.data", "drop": True, "times": 1},
                ]
            }
        )
    )
    rules = load_rules(path)
    assert [rule.stage for rule in rules] == [Stage.SMTP_RCPT_TO, Stage.SMTP_DATA]
    assert rules[1].action.kind is ActionKind.DROP


def test_a_bad_rule_in_a_json_file_is_reported_by_position() -> None:
    good = {"stage": "smtp.rcpt_to", "reply": 550}
    bad = {"stage": "smtp.rcpt_to", "reply": 99}
    text = json.dumps([good, bad])
    with pytest.raises(ValueError, match=r"^rule #2: code"):
        rules_from_json(text)


def test_invalid_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        rules_from_json("{nope")
