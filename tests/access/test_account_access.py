"""Users see only the accounts they may use (others are NOT_FOUND); only admins change them."""

from __future__ import annotations

import pytest
from erpmail.server.accounts.models import Account, Passwords
from erpmail.server.core import access
from erpmail.server.core.context import RequestContext, Role
from erpmail.server.core.errors import NotFound, PermissionDenied

from tests.access.conftest import Mail, acting


async def test_users_get_and_list_only_accounts_they_may_use(mail: Mail) -> None:
    store = mail.server.accounts
    with acting("EMP1"):
        assert [s.account.account_id for s in await store.visible_page("", 10)] == ["sales"]
        assert (await store.get_visible("sales")).account.account_id == "sales"
        for hidden in ("support", "emp2"):
            with pytest.raises(NotFound):
                await store.get_visible(hidden)
    with acting("EMP2"):
        listed = [s.account.account_id for s in await store.visible_page("", 10)]
        assert listed == ["emp2", "sales", "support"]
        assert [s.account.account_id for s in await store.visible_page("emp2", 1)] == ["sales"]
    with acting("boss", Role.ADMIN):
        assert len(await store.visible_page("", 10)) == 3


def test_only_admins_change_configuration() -> None:
    admin = RequestContext(request_id="", method="", actor="boss", role=Role.ADMIN)
    access.require_admin(admin, "account", "sales")
    for role in (Role.USER, Role.SERVICE):
        caller = RequestContext(request_id="", method="", actor="EMP1", role=role)
        with pytest.raises(PermissionDenied) as denied:
            access.require_admin(caller, "account", "sales")
        assert denied.value.reason == "ADMIN_ONLY"


def test_a_personal_account_is_usable_only_by_its_owner_whoever_is_listed() -> None:
    owner = RequestContext(request_id="", method="", actor="EMP2", role=Role.USER)
    listed = RequestContext(request_id="", method="", actor="EMP1", role=Role.USER)
    admin = RequestContext(request_id="", method="", actor="boss")
    assert access.may_use(owner, [], "EMP2")
    assert not access.may_use(listed, ["EMP1"], "EMP2")
    assert access.may_use(listed, ["EMP1"], "")
    assert access.may_use(admin, [], "EMP2")


async def test_membership_changes_take_effect_at_once(mail: Mail) -> None:
    store = mail.server.accounts
    with acting("EMP3"):
        assert await store.visible() == frozenset()

    def add_member(account: Account) -> tuple[Account, Passwords]:
        account.allowed_employee_ids = ["EMP3"]
        return account, Passwords()

    await store.update("support", add_member, "boss", mail.server.clock.now())
    with acting("EMP3"):
        assert await store.visible() == frozenset({"support"})


def test_settings_erpmail_works_by_are_kept_by_admins_and_back_ends_not_users() -> None:
    for role in (Role.ADMIN, Role.SERVICE):
        caller = RequestContext(request_id="", method="", actor="erp", role=role)
        access.require_back_end(caller, "schedule")
    user = RequestContext(request_id="", method="", actor="EMP1", role=Role.USER)
    with pytest.raises(PermissionDenied) as denied:
        access.require_back_end(user, "schedule", "nightly")
    assert denied.value.reason == "BACK_END_ONLY"
