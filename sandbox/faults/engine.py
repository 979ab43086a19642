"""The fault engine: the ordered rules with what each has seen so far (hits, remaining
firings, greylisted pairs, recent events), and the decision of which rule fires for an event.

Kept apart from the rules model because this is the only part with changing state and a lock.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from erpmail.sandbox.faults.rules import Action, Event, Rule, Stage, _bare


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
