"""The email preferences and their rules (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from urllib.parse import urlsplit

from erpmail.server.core.errors import Violations

MAX_RESEND_ATTEMPTS = 100
MAX_TAG = 32


class ArchiveAge(IntEnum):
    """Archive processed email older than this many months (NONE: no archiving by age)."""

    NONE = -1
    MONTHS_0 = 0
    MONTHS_3 = 3
    MONTHS_6 = 6
    MONTHS_9 = 9
    MONTHS_12 = 12


@dataclass
class SystemTemplates:
    new_user_welcome_template_id: str = ""
    password_changed_template_id: str = ""
    login_recovery_template_id: str = ""
    password_recovery_template_id: str = ""


@dataclass
class Preferences:
    default_account_id: str = ""
    # The tracking tag is prefix + email number + suffix, in the subject of outgoing email.
    email_tag_prefix: str = "[#"
    email_tag_suffix: str = "]"
    archive_emails: ArchiveAge = ArchiveAge.NONE
    automatic_resend_attempts: int = 0
    suspend_processing: bool = False
    system_templates: SystemTemplates = field(default_factory=SystemTemplates)
    notification_url: str = ""


def validate(p: Preferences, prefix: str = "preferences") -> None:
    v = Violations()
    f = f"{prefix}."
    for name, tag in (
        ("email_tag_prefix", p.email_tag_prefix),
        ("email_tag_suffix", p.email_tag_suffix),
    ):
        v.check(bool(tag.strip()), f + name, "is required: replies are matched by the tag")
        v.check(len(tag) <= MAX_TAG, f + name, f"must be at most {MAX_TAG} characters")
        v.check(tag.isprintable(), f + name, "must be printable, on one line")
    if p.email_tag_prefix and p.email_tag_prefix == p.email_tag_suffix:
        v.add(f + "email_tag_suffix", "must differ from the prefix, or a tag has no clear end")
    v.check(
        0 <= p.automatic_resend_attempts <= MAX_RESEND_ATTEMPTS,
        f + "automatic_resend_attempts",
        f"must be 0 to {MAX_RESEND_ATTEMPTS}",
    )
    if p.notification_url:
        parts = urlsplit(p.notification_url)
        v.check(
            parts.scheme in ("http", "https")
            and bool(parts.netloc)
            and p.notification_url.isprintable()
            and " " not in p.notification_url,
            f + "notification_url",
            "must be an http or https URL",
        )
    v.raise_if_any()
