from __future__ import annotations

from erpmail.sandbox.faults import (
    GREYLIST_CODE,
    RATE_LIMIT_CODE,
    SESSION_LIMIT_CODE,
    ActionKind,
    Event,
    FaultEngine,
    Rule,
    Stage,
)

from tests.support.clock import FakeClock


def rcpt(sender: str, recipient: str) -> Event:
    return Event(Stage.SMTP_RCPT_TO, sender=sender, recipient=recipient)


def test_greylisting_refuses_a_first_try_and_accepts_a_retry_after_the_delay(
    clock: FakeClock,
) -> None:
    engine = FaultEngine([Rule(Stage.SMTP_RCPT_TO, greylist_seconds=300)], clock=clock)
    first = engine.decide(rcpt("a@x", "b@y"))
    assert first is not None
    assert (first.kind, first.code) == (ActionKind.REPLY, GREYLIST_CODE)
    clock.advance(299)
    assert engine.decide(rcpt("a@x", "b@y")) is not None, "a retry too early is refused"
    clock.advance(1)
    assert engine.decide(rcpt("a@x", "b@y")) is None
    clock.advance(10_000)
    assert engine.decide(rcpt("A@X", "<b@y>")) is None, "a pair once through stays through"


def test_greylisting_tracks_each_sender_recipient_pair_separately(clock: FakeClock) -> None:
    engine = FaultEngine([Rule(Stage.SMTP_RCPT_TO, greylist_seconds=60)], clock=clock)
    assert engine.decide(rcpt("a@x", "b@y")) is not None
    clock.advance(60)
    assert engine.decide(rcpt("a@x", "b@y")) is None
    assert engine.decide(rcpt("a@x", "c@y")) is not None
    assert engine.decide(rcpt("z@x", "b@y")) is not None


def test_greylisting_of_zero_seconds_accepts_any_retry(clock: FakeClock) -> None:
    engine = FaultEngine([Rule(Stage.SMTP_RCPT_TO, greylist_seconds=0)], clock=clock)
    assert engine.decide(rcpt("a@x", "b@y")) is not None
    assert engine.decide(rcpt("a@x", "b@y")) is None


def test_session_limit_fires_once_n_messages_were_accepted() -> None:
    engine = FaultEngine([Rule(Stage.SMTP_MAIL_FROM, max_per_session=3)])
    decisions = [
        engine.decide(Event(Stage.SMTP_MAIL_FROM, session_id="s1", messages_in_session=n))
        for n in range(5)
    ]
    assert decisions[:3] == [None, None, None]
    assert all(d is not None and d.code == SESSION_LIMIT_CODE for d in decisions[3:])


def test_rate_limit_refuses_over_n_per_window_and_recovers_when_the_window_moves(
    clock: FakeClock,
) -> None:
    engine = FaultEngine(
        [Rule(Stage.SMTP_MAIL_FROM, rate_limit=2, rate_window_seconds=1.0)], clock=clock
    )
    mail = Event(Stage.SMTP_MAIL_FROM, sender="a@x")
    assert engine.decide(mail) is None
    clock.advance(0.5)
    assert engine.decide(mail) is None
    refused = engine.decide(mail)
    assert refused is not None and refused.code == RATE_LIMIT_CODE
    clock.advance(0.5)  # the first one leaves the window
    assert engine.decide(mail) is None
    assert engine.decide(mail) is not None


def test_special_rules_take_an_explicit_action_instead_of_their_default() -> None:
    rule = Rule(Stage.SMTP_MAIL_FROM, max_per_session=1)
    engine = FaultEngine([rule])
    assert engine.decide(Event(Stage.SMTP_MAIL_FROM, messages_in_session=1)) == rule.action
    from erpmail.sandbox.faults import parse_rule_spec

    drop = parse_rule_spec("smtp.mail_from max_per_session=1 drop")
    engine = FaultEngine([drop])
    action = engine.decide(Event(Stage.SMTP_MAIL_FROM, messages_in_session=1))
    assert action is not None and action.kind is ActionKind.DROP
