"""PreferencesService: the settings that apply to every account, changed by field mask."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from erpmail.v1 import accounts_pb2 as apb
from erpmail.v1 import accounts_pb2_grpc, preferences_pb2_grpc
from erpmail.v1 import preferences_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.support.accounts import account
from tests.support.errors import field_violations, precondition_types

Prefs: TypeAlias = "preferences_pb2_grpc.PreferencesServiceAsyncStub"
Accounts: TypeAlias = "accounts_pb2_grpc.AccountServiceAsyncStub"


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def test_defaults_follow_the_sources(preferences: Prefs) -> None:
    got = (await preferences.GetPreferences(pb.GetPreferencesRequest())).preferences

    assert got.automatic_resend_attempts == 0
    assert got.archive_emails == pb.ARCHIVE_EMAILS_NONE
    assert not got.suspend_processing
    assert got.default_account_id == ""
    assert got.email_tag_prefix and got.email_tag_suffix


async def test_masked_fields_are_changed_and_kept(preferences: Prefs) -> None:
    change = pb.Preferences(
        automatic_resend_attempts=3,
        archive_emails=pb.ARCHIVE_EMAILS_OLDER_THAN_6_MONTHS,
        suspend_processing=True,
        notification_url="https://erp.example.com/",
        email_tag_prefix="[ERP#",
        system_templates=pb.SystemTemplates(password_changed_template_id="PWD"),
    )
    await preferences.UpdatePreferences(
        pb.UpdatePreferencesRequest(
            preferences=change,
            update_mask=_mask(
                "automatic_resend_attempts",
                "archive_emails",
                "suspend_processing",
                "notification_url",
                "system_templates.password_changed_template_id",
            ),
        )
    )

    got = (await preferences.GetPreferences(pb.GetPreferencesRequest())).preferences
    assert got.automatic_resend_attempts == 3
    assert got.archive_emails == pb.ARCHIVE_EMAILS_OLDER_THAN_6_MONTHS
    assert got.suspend_processing
    assert got.notification_url == "https://erp.example.com/"
    assert got.system_templates.password_changed_template_id == "PWD"
    assert got.email_tag_prefix != "[ERP#"  # not in the mask


async def test_default_account_must_exist(preferences: Prefs, accounts: Accounts) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await preferences.UpdatePreferences(
            pb.UpdatePreferencesRequest(
                preferences=pb.Preferences(default_account_id="ghost"),
                update_mask=_mask("default_account_id"),
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "preferences.default_account_id" in field_violations(error.value)

    await accounts.CreateAccount(apb.CreateAccountRequest(account=account()))
    updated = await preferences.UpdatePreferences(
        pb.UpdatePreferencesRequest(
            preferences=pb.Preferences(default_account_id="support"),
            update_mask=_mask("default_account_id"),
        )
    )
    assert updated.preferences.default_account_id == "support"


async def test_the_default_account_cannot_be_deleted(
    preferences: Prefs, accounts: Accounts
) -> None:
    await accounts.CreateAccount(apb.CreateAccountRequest(account=account()))
    await preferences.UpdatePreferences(
        pb.UpdatePreferencesRequest(
            preferences=pb.Preferences(default_account_id="support"),
            update_mask=_mask("default_account_id"),
        )
    )

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await accounts.DeleteAccount(apb.DeleteAccountRequest(account_id="support"))

    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert precondition_types(error.value) == ["DEFAULT_ACCOUNT"]
    assert (await accounts.GetAccount(apb.GetAccountRequest(account_id="support"))).account

    await preferences.UpdatePreferences(
        pb.UpdatePreferencesRequest(
            preferences=pb.Preferences(), update_mask=_mask("default_account_id")
        )
    )
    await accounts.DeleteAccount(apb.DeleteAccountRequest(account_id="support"))


BAD = [
    ("preferences.automatic_resend_attempts", pb.Preferences(automatic_resend_attempts=-1)),
    ("preferences.automatic_resend_attempts", pb.Preferences(automatic_resend_attempts=101)),
    ("preferences.archive_emails", pb.Preferences(archive_emails=77)),  # type: ignore[arg-type]
    ("preferences.notification_url", pb.Preferences(notification_url="ftp://x")),
    ("preferences.notification_url", pb.Preferences(notification_url="not a url")),
    ("preferences.email_tag_prefix", pb.Preferences(email_tag_prefix="")),
    ("preferences.email_tag_suffix", pb.Preferences(email_tag_suffix="a\nb")),
]


@pytest.mark.parametrize(("field", "change"), BAD, ids=[f"{f}={c}" for f, c in BAD])
async def test_invalid_preferences_are_refused_whole(
    preferences: Prefs, field: str, change: pb.Preferences
) -> None:
    before = (await preferences.GetPreferences(pb.GetPreferencesRequest())).preferences
    name = field.removeprefix("preferences.")
    request = pb.Preferences()
    request.CopyFrom(change)
    request.suspend_processing = True  # a valid change in the same request is not applied

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await preferences.UpdatePreferences(
            pb.UpdatePreferencesRequest(
                preferences=request, update_mask=_mask(name, "suspend_processing")
            )
        )

    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(error.value)
    after = (await preferences.GetPreferences(pb.GetPreferencesRequest())).preferences
    assert after == before


async def test_update_needs_a_mask(preferences: Prefs) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await preferences.UpdatePreferences(pb.UpdatePreferencesRequest())

    assert "update_mask" in field_violations(error.value)
