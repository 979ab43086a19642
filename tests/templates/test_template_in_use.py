"""A template the preferences or an account still name is not deleted (FAILED_PRECONDITION naming
who names it, in which field), and the preferences' new-user welcome template keeps its four
place-holders while it is named."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import preferences_pb2 as ppb
from erpmail.v1 import templates_pb2 as pb
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support.accounts import account
from tests.templates.messages import Stub, create, template

Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"

WELCOME_BODY = "((Company)) welcomes ((Name)): user ((Username)), password ((Password))"


def violation(error: grpc.aio.AioRpcError) -> error_details_pb2.PreconditionFailure.Violation:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            [found] = failure.violations
            return found
    raise AssertionError("no PreconditionFailure in the error")


async def delete_error(templates: Stub, template_id: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await templates.DeleteTemplate(pb.DeleteTemplateRequest(template_id=template_id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return caught.value


async def add_account(accounts: Accounts, processing: apb.IncomingProcessing) -> None:
    message = account()
    message.processing.CopyFrom(processing)
    await accounts.CreateAccount(apb.CreateAccountRequest(account=message))


async def set_system_templates(preferences: Prefs, **ids: str) -> None:
    await preferences.UpdatePreferences(
        ppb.UpdatePreferencesRequest(
            preferences=ppb.Preferences(system_templates=ppb.SystemTemplates(**ids)),
            update_mask=field_mask_pb2.FieldMask(paths=[f"system_templates.{n}" for n in ids]),
        )
    )


async def test_a_template_the_preferences_name_is_not_deleted(
    templates: Stub, preferences: Prefs
) -> None:
    await create(templates, template("welcome", html_body=WELCOME_BODY, text_body=""))
    await create(templates, template("password-changed"))
    await set_system_templates(
        preferences,
        new_user_welcome_template_id="welcome",
        password_changed_template_id="password-changed",
    )

    for template_id, field in [
        ("welcome", "system_templates.new_user_welcome_template_id"),
        ("password-changed", "system_templates.password_changed_template_id"),
    ]:
        found = violation(await delete_error(templates, template_id))
        assert (found.type, found.subject) == ("TEMPLATE_IN_USE", "preferences")
        assert field in found.description

    await set_system_templates(preferences, password_changed_template_id="")
    await templates.DeleteTemplate(pb.DeleteTemplateRequest(template_id="password-changed"))
    await templates.GetTemplate(pb.GetTemplateRequest(template_id="welcome"))


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        (
            apb.IncomingProcessing(confirm_receipt=True, confirmation_template_id="reply"),
            "processing.confirmation_template_id",
        ),
        (
            apb.IncomingProcessing(reply_to_unassigned=True, reply_template_id="reply"),
            "processing.reply_template_id",
        ),
    ],
)
async def test_a_template_an_account_names_is_not_deleted(
    templates: Stub, accounts: Accounts, setting: apb.IncomingProcessing, field: str
) -> None:
    await create(templates, template("reply"))
    await add_account(accounts, setting)

    found = violation(await delete_error(templates, "reply"))

    assert (found.type, found.subject) == ("TEMPLATE_IN_USE", "accounts/support")
    assert field in found.description
    await templates.GetTemplate(pb.GetTemplateRequest(template_id="reply"))


async def test_a_template_no_one_names_is_deleted(templates: Stub, accounts: Accounts) -> None:
    await create(templates, template("reply"))
    await create(templates, template("other"))
    await add_account(
        accounts, apb.IncomingProcessing(confirm_receipt=True, confirmation_template_id="other")
    )

    await templates.DeleteTemplate(pb.DeleteTemplateRequest(template_id="reply"))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await templates.GetTemplate(pb.GetTemplateRequest(template_id="reply"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_welcome_template_keeps_its_placeholders_while_named(
    templates: Stub, preferences: Prefs
) -> None:
    await create(templates, template("welcome", html_body=WELCOME_BODY, text_body=""))
    await set_system_templates(preferences, new_user_welcome_template_id="welcome")

    def change(body: str) -> pb.UpdateTemplateRequest:
        return pb.UpdateTemplateRequest(
            template=pb.Template(template_id="welcome", html_body=body),
            update_mask=field_mask_pb2.FieldMask(paths=["html_body"]),
        )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await templates.UpdateTemplate(change("((Company)) welcomes ((Name))"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    found = violation(caught.value)
    assert (found.type, found.subject) == ("WELCOME_TEMPLATE", "preferences")

    kept = await templates.UpdateTemplate(change("<p>" + WELCOME_BODY + "</p>"))
    assert kept.template.html_body == "<p>" + WELCOME_BODY + "</p>"


async def test_a_template_not_named_as_welcome_template_may_drop_the_placeholders(
    templates: Stub,
) -> None:
    await create(templates, template("welcome", html_body=WELCOME_BODY, text_body=""))

    updated = await templates.UpdateTemplate(
        pb.UpdateTemplateRequest(
            template=pb.Template(template_id="welcome", html_body="Hello"),
            update_mask=field_mask_pb2.FieldMask(paths=["html_body"]),
        )
    )

    assert updated.template.html_body == "Hello"
