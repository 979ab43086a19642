"""Turns an email's content into the RFC 5322 bytes handed to the SMTP client.

Pure: the caller brings the random token, the clock's time and the account's settings, so the
same inputs always give the same bytes (even the multipart boundaries), and a resend after an
unknown outcome carries the same Message-ID for receivers to deduplicate.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import datetime
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime

from erpmail.server.accounts.models import Account
from erpmail.server.outgoing.models import Address, Attachment, Content
from erpmail.server.outgoing.validation import guess_content_type

# RFC 3676 4.3: the line that starts a signature, so readers can trim or fold it away.
SIGNATURE_SEPARATOR = "-- \n"
UNDISCLOSED_RECIPIENTS = "undisclosed-recipients:;"
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")

# Bodies are written 7bit, quoted-printable or base64: no 8BITMIME needed on the way.
_ASCII_POLICY = policy.SMTP.clone(cte_type="7bit")
# RFC 6531/6532: non-ASCII addresses go as raw UTF-8, which only SMTPUTF8 servers accept.
_UTF8_POLICY = policy.SMTPUTF8.clone(cte_type="7bit")


def tracking_tag(prefix: str, number: int, suffix: str) -> str:
    """The tag replies are matched by, e.g. "[#123]" with the default prefix and suffix."""
    return f"{prefix}{number}{suffix}"


def tagged_subject(subject: str, tag: str) -> str:
    """The subject with the tag at the end, once: a reply's "Re: ... [#123]" keeps its tag."""
    if not tag or tag in subject:
        return subject
    if not subject.strip():
        return tag
    return f"{subject} {tag}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def make_message_id(number: int, domain: str, token: str) -> str:
    """'<erpmail.{number}.{token}@{domain}>'; the token (random, from the caller) keeps it unique
    across databases that reuse numbers."""
    if not domain:
        raise ValueError("a Message-ID needs a domain")
    if _TOKEN.fullmatch(token) is None:
        raise ValueError("a Message-ID token is letters, digits, '_' and '-'")
    return f"<erpmail.{number}.{token}@{_ascii_domain(domain)}>"


def split_per_to(content: Content) -> list[Content]:
    """One email per To address, each with the same Cc, Bcc and everything else.

    Content with no To address stays one email. The copies share no list with `content`.
    """
    if not content.to:
        return [_copy(content, [])]
    return [_copy(content, [address]) for address in content.to]


def envelope_recipients(content: Content) -> list[str]:
    """Every To, Cc and Bcc address once (compared case-insensitively), in that order."""
    seen: set[str] = set()
    recipients: list[str] = []
    for address in [*content.to, *content.cc, *content.bcc]:
        key = address.address.casefold()
        if key not in seen:
            seen.add(key)
            recipients.append(address.address)
    return recipients


def needs_smtputf8(content: Content, sender: Address, reply_address: str = "") -> bool:
    """True when an address (envelope or header) is not ASCII, so SMTPUTF8 must carry it."""
    addresses = [sender, *content.to, *content.cc, *content.bcc, *content.reply_to]
    return not reply_address.isascii() or any(not a.address.isascii() for a in addresses)


def compose(
    content: Content,
    *,
    sender: Address,
    message_id: str,
    tag: str,
    signature_text: str,
    signature_html: str,
    date: datetime,
    reply_address: str = "",
) -> bytes:
    """The message for `content` as sent: CRLF line ends, no Bcc header, UTF-8 bodies."""
    if date.tzinfo is None:
        raise ValueError("the Date of a message needs a time zone")
    utf8 = needs_smtputf8(content, sender, reply_address)
    message = EmailMessage(policy=_UTF8_POLICY if utf8 else _ASCII_POLICY)
    message["From"] = _header_address(sender)
    if content.to:
        message["To"] = [_header_address(a) for a in content.to]
    if content.cc:
        message["Cc"] = [_header_address(a) for a in content.cc]
    if not content.to and not content.cc:
        message["To"] = UNDISCLOSED_RECIPIENTS
    reply_to = content.reply_to or ([Address(reply_address)] if reply_address else [])
    if reply_to:
        message["Reply-To"] = [_header_address(a) for a in reply_to]
    message["Subject"] = tagged_subject(content.subject, tag)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["MIME-Version"] = "1.0"
    for header in content.headers:
        message[header.name] = header.value
    _add_bodies(message, content, signature_text, signature_html)
    for attachment in content.attachments:
        _add_attachment(message, attachment)
    _tidy_parts(message)
    _set_boundaries(message, seed=message_id)
    return message.as_bytes()


def compose_for_account(
    content: Content, account: Account, *, message_id: str, tag: str, date: datetime
) -> bytes:
    """The message as `account` sends it: its address and name, signature and reply address."""
    return compose(
        content,
        sender=Address(account.email_address, account.display_name),
        message_id=message_id,
        tag=tag,
        signature_text=account.signature.text,
        signature_html=account.signature.html,
        date=date,
        reply_address=account.reply_address,
    )


def signed_text(body: str, signature: str) -> str:
    if not signature:
        return body
    if body and not body.endswith("\n"):
        body += "\n"
    return f"{body}{SIGNATURE_SEPARATOR}{signature}"


def signed_html(body: str, signature: str) -> str:
    end = body.lower().rfind("</body>")
    if end < 0:
        return body + signature
    return body[:end] + signature + body[end:]


def _add_bodies(
    message: EmailMessage, content: Content, signature_text: str, signature_html: str
) -> None:
    # With neither body, a text part still carries the signature (or stays empty).
    has_text = bool(content.text_body) or not content.html_body
    if has_text:
        message.set_content(signed_text(content.text_body, signature_text), charset="utf-8")
    if content.html_body:
        html = signed_html(content.html_body, signature_html)
        if has_text:
            message.add_alternative(html, subtype="html", charset="utf-8")
        else:
            message.set_content(html, subtype="html", charset="utf-8")


def _add_attachment(message: EmailMessage, attachment: Attachment) -> None:
    content_type = attachment.content_type or guess_content_type(attachment.file_name)
    maintype, _, subtype = content_type.partition("/")
    # The email package encodes a non-ASCII file name per RFC 2231 (raw UTF-8 under SMTPUTF8).
    message.add_attachment(
        attachment.content, maintype=maintype, subtype=subtype, filename=attachment.file_name
    )


def _tidy_parts(message: EmailMessage) -> None:
    # The email package stamps MIME-Version on every part it makes; it belongs on the top only.
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]


def _set_boundaries(message: EmailMessage, seed: str) -> None:
    """Boundaries derived from `seed` (not random), changed until no part's body contains one."""
    multiparts = [part for part in message.walk() if part.is_multipart()]
    if not multiparts:
        return
    bodies = [str(part.get_payload()) for part in message.walk() if not part.is_multipart()]
    attempt = 0
    while True:
        boundaries = [_boundary(seed, attempt, i) for i in range(len(multiparts))]
        if not any(b in body for b in boundaries for body in bodies):
            break
        attempt += 1
    for part, boundary in zip(multiparts, boundaries, strict=True):
        part.set_boundary(boundary)


def _boundary(seed: str, attempt: int, index: int) -> str:
    digest = hashlib.sha256(f"{seed}\0{attempt}\0{index}".encode()).hexdigest()
    # "=_" cannot occur in quoted-printable or base64 text, so collisions need a 7bit body.
    return f"=_erpmail_{digest[:32]}"


def _header_address(address: Address) -> HeaderAddress:
    # Built from its parts: parsing an addr_spec refuses the UTF-8 local parts SMTPUTF8 allows.
    username, _, domain = address.address.rpartition("@")
    return HeaderAddress(display_name=address.name, username=username, domain=domain)


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain  # not IDNA 2003-encodable; SMTPUTF8 carries it as it is


def _copy(content: Content, to: list[Address]) -> Content:
    return replace(
        content,
        to=to,
        cc=list(content.cc),
        bcc=list(content.bcc),
        reply_to=list(content.reply_to),
        attachments=list(content.attachments),
        headers=list(content.headers),
    )
