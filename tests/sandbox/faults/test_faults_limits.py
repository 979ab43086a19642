from __future__ import annotations

from erpmail.sandbox.faults import Action, ActionKind, Event, FaultEngine, Rule, Stage

from tests.support.clock import FakeClock

TEMPFAIL = Action(ActionKind.REPLY, code=451, text="4.3.0 Try later")
MAIL = Event(Stage.SMTP_MAIL_FROM, sender="app@erp.example")


def test_times_fails_exactly_twice_then_succeeds() -> None:
    engine = FaultEngine()
    rule_id = engine.add(Rule(Stage.SMTP_MAIL_FROM, TEMPFAIL, times=2))
    assert engine.remaining(rule_id) == 2
    assert [engine.decide(MAIL) for _ in range(4)] == [TEMPFAIL, TEMPFAIL, None, None]
    assert engine.list() == []


def test_times_counts_only_matching_events() -> None:
    engine = FaultEngine([Rule(Stage.SMTP_RCPT_TO, TEMPFAIL, recipient="a@x", times=1)])
    assert engine.decide(Event(Stage.SMTP_RCPT_TO, recipient="b@x")) is None
    assert engine.decide(Event(Stage.SMTP_RCPT_TO, recipient="a@x")) == TEMPFAIL
    assert engine.decide(Event(Stage.SMTP_RCPT_TO, recipient="a@x")) is None


def test_probability_with_a_seed_gives_the_same_sequence_every_time() -> None:
    def run() -> list[bool]:
        engine = FaultEngine([Rule(Stage.SMTP_MAIL_FROM, TEMPFAIL, probability=0.5, seed=7)])
        return [engine.decide(MAIL) is not None for _ in range(40)]

    first = run()
    assert first == run()
    assert 0 < sum(first) < 40


def test_probability_zero_never_fires_and_one_always_fires() -> None:
    never = FaultEngine([Rule(Stage.SMTP_MAIL_FROM, TEMPFAIL, probability=0.0, seed=1)])
    always = FaultEngine([Rule(Stage.SMTP_MAIL_FROM, TEMPFAIL, probability=1.0)])
    assert all(never.decide(MAIL) is None for _ in range(20))
    assert all(always.decide(MAIL) == TEMPFAIL for _ in range(20))


def test_a_rule_stops_firing_when_it_expires(clock: FakeClock) -> None:
    engine = FaultEngine(clock=clock)
    engine.add(Rule(Stage.SMTP_MAIL_FROM, TEMPFAIL, expires_in=30))
    clock.advance(29)
    assert engine.decide(MAIL) == TEMPFAIL
    clock.advance(1)
    assert engine.decide(MAIL) is None
    assert engine.list() == []


def test_expires_at_is_read_on_the_engine_clock(clock: FakeClock) -> None:
    rule = Rule(Stage.SMTP_MAIL_FROM, TEMPFAIL, expires_at=clock.now + 5)
    engine = FaultEngine([rule], clock=clock)
    assert engine.decide(MAIL) == TEMPFAIL
    clock.advance(5)
    assert engine.decide(MAIL) is None


def test_an_exhausted_rule_lets_the_next_rule_fire() -> None:
    drop = Action(ActionKind.DROP)
    engine = FaultEngine(
        [Rule(Stage.SMTP_MAIL_FROM, TEMPFAIL, times=1), Rule(Stage.SMTP_MAIL_FROM, drop)]
    )
    assert engine.decide(MAIL) == TEMPFAIL
    assert engine.decide(MAIL) == drop
