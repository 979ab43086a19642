"""PreferencesService: translates requests to the preferences domain and back."""

from __future__ import annotations

from typing import Any

import grpc
from erpmail.server.core import access, context
from erpmail.server.core.protos import EnumMap, apply_mask, check_mask
from erpmail.server.preferences import models as m
from erpmail.server.preferences.store import PreferencesStore
from erpmail.v1 import preferences_pb2 as pb
from erpmail.v1 import preferences_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]

ARCHIVE = EnumMap(
    {
        pb.ARCHIVE_EMAILS_NONE: m.ArchiveAge.NONE,
        pb.ARCHIVE_EMAILS_OLDER_THAN_0_MONTHS: m.ArchiveAge.MONTHS_0,
        pb.ARCHIVE_EMAILS_OLDER_THAN_3_MONTHS: m.ArchiveAge.MONTHS_3,
        pb.ARCHIVE_EMAILS_OLDER_THAN_6_MONTHS: m.ArchiveAge.MONTHS_6,
        pb.ARCHIVE_EMAILS_OLDER_THAN_9_MONTHS: m.ArchiveAge.MONTHS_9,
        pb.ARCHIVE_EMAILS_OLDER_THAN_12_MONTHS: m.ArchiveAge.MONTHS_12,
    },
    default=m.ArchiveAge.NONE,
)


class PreferencesServicer(preferences_pb2_grpc.PreferencesServiceServicer):
    def __init__(self, store: PreferencesStore) -> None:
        self._store = store

    async def GetPreferences(
        self, request: pb.GetPreferencesRequest, rpc: Context
    ) -> pb.GetPreferencesResponse:
        return pb.GetPreferencesResponse(preferences=to_proto(await self._store.get()))

    async def UpdatePreferences(
        self, request: pb.UpdatePreferencesRequest, rpc: Context
    ) -> pb.UpdatePreferencesResponse:
        access.require_admin(context.current(), "preferences")
        paths = check_mask(request.update_mask, pb.Preferences(), "update_mask", set())

        def edit(current: m.Preferences) -> m.Preferences:
            merged = to_proto(current)
            apply_mask(paths, request.preferences, merged)
            preferences = to_domain(merged)
            m.validate(preferences)
            return preferences

        return pb.UpdatePreferencesResponse(preferences=to_proto(await self._store.update(edit)))


def to_domain(p: pb.Preferences) -> m.Preferences:
    t = p.system_templates
    return m.Preferences(
        default_account_id=p.default_account_id,
        email_tag_prefix=p.email_tag_prefix,
        email_tag_suffix=p.email_tag_suffix,
        archive_emails=ARCHIVE.to_domain(p.archive_emails, "preferences.archive_emails"),
        automatic_resend_attempts=p.automatic_resend_attempts,
        suspend_processing=p.suspend_processing,
        system_templates=m.SystemTemplates(
            new_user_welcome_template_id=t.new_user_welcome_template_id,
            password_changed_template_id=t.password_changed_template_id,
            login_recovery_template_id=t.login_recovery_template_id,
            password_recovery_template_id=t.password_recovery_template_id,
        ),
        notification_url=p.notification_url,
    )


def to_proto(p: m.Preferences) -> pb.Preferences:
    t = p.system_templates
    return pb.Preferences(
        default_account_id=p.default_account_id,
        email_tag_prefix=p.email_tag_prefix,
        email_tag_suffix=p.email_tag_suffix,
        archive_emails=ARCHIVE.to_proto(p.archive_emails),
        automatic_resend_attempts=p.automatic_resend_attempts,
        suspend_processing=p.suspend_processing,
        system_templates=pb.SystemTemplates(
            new_user_welcome_template_id=t.new_user_welcome_template_id,
            password_changed_template_id=t.password_changed_template_id,
            login_recovery_template_id=t.login_recovery_template_id,
            password_recovery_template_id=t.password_recovery_template_id,
        ),
        notification_url=p.notification_url,
    )
