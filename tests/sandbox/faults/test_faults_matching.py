from __future__ import annotations

from erpmail.sandbox.faults import Action, ActionKind, Event, FaultEngine, Rule, Stage

REFUSE = Action(ActionKind.REPLY, code=550, text="5.1.1 No such user")


def rcpt(recipient: str, sender: str = "app@erp.example") -> Event:
    return Event(Stage.SMTP_RCPT_TO, sender=sender, recipient=recipient)


def test_no_rules_means_no_interference() -> None:
    assert FaultEngine().decide(rcpt("a@example.com")) is None


def test_rule_only_fires_at_its_stage() -> None:
    engine = FaultEngine([Rule(Stage.SMTP_RCPT_TO, REFUSE)])
    assert engine.decide(Event(Stage.SMTP_MAIL_FROM, sender="a@example.com")) is None
    assert engine.decide(rcpt("a@example.com")) == REFUSE


def test_recipient_pattern_refuses_one_recipient_and_not_the_other() -> None:
    engine = FaultEngine([Rule(Stage.SMTP_RCPT_TO, REFUSE, recipient="bad@example.com")])
    assert engine.decide(rcpt("bad@example.com")) == REFUSE
    assert engine.decide(rcpt("good@example.com")) is None


def test_patterns_are_case_insensitive_and_ignore_angle_brackets() -> None:
    engine = FaultEngine([Rule(Stage.SMTP_RCPT_TO, REFUSE, recipient="Bad@Example.COM")])
    assert engine.decide(rcpt("<bad@example.com>")) == REFUSE


def test_glob_patterns_match_whole_domains() -> None:
    engine = FaultEngine([Rule(Stage.SMTP_MAIL_FROM, REFUSE, sender="*@spam.example")])
    assert engine.decide(Event(Stage.SMTP_MAIL_FROM, sender="x@spam.example")) == REFUSE
    assert engine.decide(Event(Stage.SMTP_MAIL_FROM, sender="x@spam.example.org")) is None


def test_account_and_subject_criteria_must_all_hold() -> None:
    rule = Rule(Stage.SMTP_END_OF_DATA, REFUSE, account="alice", subject_contains="invoice")
    engine = FaultEngine([rule])
    assert engine.decide(Event(Stage.SMTP_END_OF_DATA, account="alice", subject="Your INVOICE"))
    assert engine.decide(Event(Stage.SMTP_END_OF_DATA, account="bob", subject="invoice")) is None
    assert engine.decide(Event(Stage.SMTP_END_OF_DATA, account="alice", subject="hello")) is None


def test_first_matching_rule_wins() -> None:
    drop = Action(ActionKind.DROP)
    engine = FaultEngine(
        [Rule(Stage.SMTP_RCPT_TO, drop, recipient="a@x"), Rule(Stage.SMTP_RCPT_TO, REFUSE)]
    )
    assert engine.decide(rcpt("a@x")) == drop
    assert engine.decide(rcpt("b@x")) == REFUSE


def test_rules_can_be_listed_removed_and_cleared() -> None:
    engine = FaultEngine()
    first = engine.add(Rule(Stage.SMTP_RCPT_TO, REFUSE, recipient="a@x"))
    second = engine.add(Rule(Stage.SMTP_RCPT_TO, REFUSE, recipient="b@x"))
    assert first != second
    assert [rule.id for rule in engine.list()] == [first, second]
    assert engine.remove(first) is True
    assert engine.remove(first) is False
    assert engine.decide(rcpt("a@x")) is None
    assert engine.decide(rcpt("b@x")) == REFUSE
    engine.clear()
    assert engine.list() == []
    assert engine.decide(rcpt("b@x")) is None


def test_a_rule_keeps_the_id_it_was_given_and_ids_stay_unique() -> None:
    engine = FaultEngine()
    assert engine.add(Rule(Stage.SMTP_EHLO, REFUSE, id="ehlo-down")) == "ehlo-down"
    try:
        engine.add(Rule(Stage.SMTP_EHLO, REFUSE, id="ehlo-down"))
    except ValueError as error:
        assert "id" in str(error)
    else:
        raise AssertionError("a duplicate id was accepted")


def test_hits_are_counted_per_rule() -> None:
    engine = FaultEngine()
    rule_id = engine.add(Rule(Stage.SMTP_RCPT_TO, REFUSE, recipient="a@x"))
    engine.decide(rcpt("a@x"))
    engine.decide(rcpt("b@x"))
    engine.decide(rcpt("a@x"))
    assert engine.hits(rule_id) == 2


def test_watches_tells_whether_any_rule_is_about_a_stage() -> None:
    engine = FaultEngine()
    assert not engine.watches(Stage.SMTP_RCPT_TO)
    rule_id = engine.add(Rule(Stage.SMTP_RCPT_TO, REFUSE, times=1))
    assert engine.watches(Stage.SMTP_RCPT_TO)
    assert not engine.watches(Stage.SMTP_MAIL_FROM)
    engine.decide(rcpt("a@x"))  # the only firing: the rule is used up
    assert not engine.watches(Stage.SMTP_RCPT_TO)
    engine.add(Rule(Stage.SMTP_RCPT_TO, REFUSE, id="again"))
    engine.remove("again")
    assert not engine.watches(Stage.SMTP_RCPT_TO)
    assert rule_id not in [rule.id for rule in engine.list()]
