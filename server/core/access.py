"""Who may see and change what: the access rules, pure and free of I/O.

Users (and services, which act for the user they name) reach mail only through the accounts
they may use; admins reach everything. What a caller may not see does not exist for it
(NOT_FOUND, never PERMISSION_DENIED), so that ids of other accounts' mail leak nothing. Changes
to the system's configuration are for admins only (PERMISSION_DENIED, reason ADMIN_ONLY).
"""

from __future__ import annotations

from collections.abc import Collection

from erpmail.server.core.context import RequestContext, Role
from erpmail.server.core.errors import NotFound, PermissionDenied

ADMIN_ONLY = "ADMIN_ONLY"
BACK_END_ONLY = "BACK_END_ONLY"

# Account ids a caller may use; None: every account (an admin).
Visible = frozenset[str] | None


def may_use(
    ctx: RequestContext, allowed_employee_ids: Collection[str], personal_owner: str
) -> bool:
    """Whether the caller may use an account with these members and (personal) owner."""
    if ctx.is_admin:
        return True
    if personal_owner:
        return ctx.actor == personal_owner
    return ctx.actor in allowed_employee_ids


def sees(visible: Visible, account_id: str) -> bool:
    return visible is None or account_id in visible


def narrow(visible: Visible, account_ids: frozenset[str] | None) -> frozenset[str] | None:
    """A list's account condition (None: any account) limited to what the caller sees."""
    if visible is None:
        return account_ids
    return visible if account_ids is None else account_ids & visible


def require_visible(visible: Visible, account_id: str, resource_type: str, name: str) -> None:
    """NOT_FOUND for `name` when it belongs to an account the caller does not see."""
    if not sees(visible, account_id):
        raise NotFound(resource_type, name)


def require_admin(ctx: RequestContext, resource_type: str, name: str = "") -> None:
    """PERMISSION_DENIED (reason ADMIN_ONLY) unless the caller is an admin."""
    if not ctx.is_admin:
        raise PermissionDenied(
            ADMIN_ONLY,
            resource_type,
            [name] if name else [],
            f"only an admin may change {resource_type}s",
        )


def require_back_end(ctx: RequestContext, resource_type: str, name: str = "") -> None:
    """PERMISSION_DENIED (reason BACK_END_ONLY) for a user's own key: the settings erpmail
    works by (directory, assignment maps, schedules, mailing settings) are kept by the ERP's
    back ends (service keys) and admins, not changed from a user's session."""
    if ctx.role is Role.USER:
        raise PermissionDenied(
            BACK_END_ONLY,
            resource_type,
            [name] if name else [],
            f"only an admin or a service may change {resource_type}s",
        )
