"""The preferences' new-user welcome template must name an existing template holding ((Company)),
((Name)), ((Username)) and ((Password)) in that order; otherwise the change is refused with
INVALID_ARGUMENT on the field and nothing is stored."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from erpmail.v1 import preferences_pb2 as pb
from erpmail.v1 import preferences_pb2_grpc, templates_pb2, templates_pb2_grpc
from google.protobuf import field_mask_pb2

from tests.support.errors import field_violations

Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"
Templates: TypeAlias = "templates_pb2_grpc.TemplateServiceAsyncStub"

FIELD = "preferences.system_templates.new_user_welcome_template_id"


@pytest.fixture
def templates(channel: grpc.aio.Channel) -> Templates:
    return templates_pb2_grpc.TemplateServiceStub(channel)


async def add_template(templates: Templates, template_id: str, html_body: str) -> None:
    await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(
            template=templates_pb2.Template(
                template_id=template_id, description="Welcome", html_body=html_body
            )
        )
    )


async def name_welcome(preferences: Prefs, template_id: str) -> pb.Preferences:
    response = await preferences.UpdatePreferences(
        pb.UpdatePreferencesRequest(
            preferences=pb.Preferences(
                system_templates=pb.SystemTemplates(new_user_welcome_template_id=template_id)
            ),
            update_mask=field_mask_pb2.FieldMask(
                paths=["system_templates.new_user_welcome_template_id"]
            ),
        )
    )
    return response.preferences


async def refused(preferences: Prefs, template_id: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await name_welcome(preferences, template_id)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = field_violations(caught.value)
    assert set(found) == {FIELD}
    stored = (await preferences.GetPreferences(pb.GetPreferencesRequest())).preferences
    assert stored.system_templates.new_user_welcome_template_id == ""
    return found[FIELD]


async def test_a_welcome_template_with_the_four_placeholders_in_order_is_accepted(
    preferences: Prefs, templates: Templates
) -> None:
    await add_template(
        templates, "welcome", "<p>((Company)) welcomes ((Name))</p> ((Username)) ((Password))"
    )

    changed = await name_welcome(preferences, "welcome")

    assert changed.system_templates.new_user_welcome_template_id == "welcome"


async def test_a_welcome_template_that_does_not_exist_is_refused(preferences: Prefs) -> None:
    assert "names no template 'ghost'" in await refused(preferences, "ghost")


@pytest.mark.parametrize(
    "body",
    [
        "((Name)) ((Company)) ((Username)) ((Password))",
        "((Company)) ((Name)) ((Username))",
        "Welcome!",
    ],
)
async def test_a_welcome_template_out_of_order_or_missing_one_is_refused(
    preferences: Prefs, templates: Templates, body: str
) -> None:
    await add_template(templates, "welcome", body)

    assert "in that order" in await refused(preferences, "welcome")


async def test_the_welcome_template_may_be_cleared(
    preferences: Prefs, templates: Templates
) -> None:
    await add_template(templates, "welcome", "((Company)) ((Name)) ((Username)) ((Password))")
    await name_welcome(preferences, "welcome")

    cleared = await name_welcome(preferences, "")

    assert cleared.system_templates.new_user_welcome_template_id == ""
