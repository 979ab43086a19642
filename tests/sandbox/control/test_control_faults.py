"""AddFaultRule, ListFaultRules, RemoveFaultRule and ClearFaultRules: rules given as structured
fields or as a one-line spec, taking effect on the sandbox's SMTP server at once."""

from __future__ import annotations

import asyncio
import smtplib

import grpc
import pytest
from erpmail.sandbox.pytest_plugin import SandboxFixture
from erpmail.v1 import sandbox_pb2 as pb
from google.protobuf import duration_pb2

from tests.sandbox.control.support import field_violations, make_message, resource_name

BAD = "bad@example.com"
GOOD = "good@example.com"


async def send_to_good_and_bad(port: int) -> dict[str, tuple[int, bytes]]:
    """Sends one message to GOOD and BAD; the recipients the server refused."""

    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            message = make_message("erp@example.com", [GOOD, BAD])
            return client.send_message(message, to_addrs=[GOOD, BAD])

    return await asyncio.to_thread(send)


def reply_rule(limits: pb.FaultLimits | None = None) -> pb.FaultRule:
    return pb.FaultRule(
        stage=pb.FAULT_STAGE_SMTP_RCPT_TO,
        match=pb.FaultMatch(recipient=BAD),
        action=pb.FaultAction(kind=pb.FAULT_ACTION_KIND_REPLY, code=550, text="5.1.1 No such user"),
        limits=limits,
    )


async def test_structured_rule_refuses_its_recipient_and_lets_the_others_through(
    erpmail_sandbox: SandboxFixture,
) -> None:
    added = await erpmail_sandbox.stub.AddFaultRule(pb.AddFaultRuleRequest(rule=reply_rule()))

    refused = await send_to_good_and_bad(erpmail_sandbox.smtp_port)

    assert refused == {BAD: (550, b"5.1.1 No such user")}
    assert erpmail_sandbox.received[0].rcpt_tos == [GOOD]
    assert added.rule.id
    [listed] = (await erpmail_sandbox.stub.ListFaultRules(pb.ListFaultRulesRequest())).rules
    assert (listed.id, listed.hits) == (added.rule.id, 1)


async def test_spec_rule_is_parsed_like_the_fault_flag(erpmail_sandbox: SandboxFixture) -> None:
    added = await erpmail_sandbox.stub.AddFaultRule(
        pb.AddFaultRuleRequest(spec=f"smtp.rcpt_to recipient={BAD} reply=550 times=2")
    )

    assert added.rule.stage == pb.FAULT_STAGE_SMTP_RCPT_TO
    assert added.rule.match.recipient == BAD
    assert (added.rule.action.kind, added.rule.action.code) == (pb.FAULT_ACTION_KIND_REPLY, 550)
    assert added.rule.action.text  # the standard text for 550 filled in
    assert (added.rule.limits.times, added.rule.remaining) == (2, 2)


async def test_a_rule_with_times_vanishes_once_used_up(erpmail_sandbox: SandboxFixture) -> None:
    added = await erpmail_sandbox.stub.AddFaultRule(
        pb.AddFaultRuleRequest(rule=reply_rule(pb.FaultLimits(times=1)))
    )

    first = await send_to_good_and_bad(erpmail_sandbox.smtp_port)
    second = await send_to_good_and_bad(erpmail_sandbox.smtp_port)

    assert BAD in first
    assert second == {}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.RemoveFaultRule(pb.RemoveFaultRuleRequest(id=added.rule.id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_durations_and_special_limits_round_trip(erpmail_sandbox: SandboxFixture) -> None:
    greylist = duration_pb2.Duration(seconds=300)
    rule = pb.FaultRule(
        id="greylist-all",
        stage=pb.FAULT_STAGE_SMTP_RCPT_TO,
        limits=pb.FaultLimits(greylist=greylist, probability=0.5, seed=7),
    )

    added = (await erpmail_sandbox.stub.AddFaultRule(pb.AddFaultRuleRequest(rule=rule))).rule

    assert added.id == "greylist-all"
    assert added.limits.greylist == greylist
    assert (added.limits.probability, added.limits.seed) == (0.5, 7)
    assert added.action.code == 451  # greylisting's default reply
    assert not added.HasField("remaining")


async def test_removed_rule_no_longer_fires(erpmail_sandbox: SandboxFixture) -> None:
    added = await erpmail_sandbox.stub.AddFaultRule(pb.AddFaultRuleRequest(rule=reply_rule()))

    await erpmail_sandbox.stub.RemoveFaultRule(pb.RemoveFaultRuleRequest(id=added.rule.id))

    assert await send_to_good_and_bad(erpmail_sandbox.smtp_port) == {}


async def test_clear_removes_every_rule_and_says_how_many(erpmail_sandbox: SandboxFixture) -> None:
    for _ in range(3):
        await erpmail_sandbox.stub.AddFaultRule(pb.AddFaultRuleRequest(rule=reply_rule()))

    cleared = await erpmail_sandbox.stub.ClearFaultRules(pb.ClearFaultRulesRequest())

    assert cleared.removed_count == 3
    listed = await erpmail_sandbox.stub.ListFaultRules(pb.ListFaultRulesRequest())
    assert list(listed.rules) == []


async def test_rules_are_listed_in_the_order_they_are_tried_page_by_page(
    erpmail_sandbox: SandboxFixture,
) -> None:
    for name in ("first", "second", "third"):
        rule = reply_rule()
        rule.id = name
        await erpmail_sandbox.stub.AddFaultRule(pb.AddFaultRuleRequest(rule=rule))

    first = await erpmail_sandbox.stub.ListFaultRules(pb.ListFaultRulesRequest(page_size=2))
    rest = await erpmail_sandbox.stub.ListFaultRules(
        pb.ListFaultRulesRequest(page_size=2, page_token=first.next_page_token)
    )

    assert [r.id for r in [*first.rules, *rest.rules]] == ["first", "second", "third"]
    assert rest.next_page_token == ""


async def test_an_id_in_use_is_already_exists(erpmail_sandbox: SandboxFixture) -> None:
    rule = reply_rule()
    rule.id = "mine"
    await erpmail_sandbox.stub.AddFaultRule(pb.AddFaultRuleRequest(rule=rule))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.AddFaultRule(pb.AddFaultRuleRequest(rule=rule))

    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "rule.id" in field_violations(caught.value)


async def test_removing_an_unknown_rule_is_not_found(erpmail_sandbox: SandboxFixture) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.RemoveFaultRule(pb.RemoveFaultRuleRequest(id="rule-404"))

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert resource_name(caught.value) == "rule-404"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.AddFaultRuleRequest(rule=pb.FaultRule()), "rule.stage"),
        (pb.AddFaultRuleRequest(rule=pb.FaultRule(stage=99)), "rule.stage"),  # type: ignore[arg-type]
        (pb.AddFaultRuleRequest(rule=reply_rule(pb.FaultLimits(times=0))), "rule.limits.times"),
        (
            pb.AddFaultRuleRequest(
                rule=reply_rule(pb.FaultLimits(max_per_session=2, rate_limit=3))
            ),
            "rule.limits.rate_limit",
        ),
        (
            pb.AddFaultRuleRequest(
                rule=pb.FaultRule(stage=pb.FAULT_STAGE_SMTP_DATA, action=pb.FaultAction(code=250))
            ),
            "rule.action.code",
        ),
        (
            pb.AddFaultRuleRequest(
                rule=pb.FaultRule(
                    stage=pb.FAULT_STAGE_POP3_RETR,
                    action=pb.FaultAction(kind=pb.FAULT_ACTION_KIND_DELAY),
                )
            ),
            "rule.action.delay",
        ),
        (pb.AddFaultRuleRequest(spec="smtp.nowhere reply=550"), "spec"),
        (pb.AddFaultRuleRequest(spec="smtp.data", rule=reply_rule()), "spec"),
        (pb.AddFaultRuleRequest(), "rule.stage"),
    ],
)
async def test_bad_rules_name_the_offending_field(
    erpmail_sandbox: SandboxFixture, request_: pb.AddFaultRuleRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await erpmail_sandbox.stub.AddFaultRule(request_)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(caught.value)
