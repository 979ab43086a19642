"""Attachment file names: read from the part, and made safe to save under whatever the sender
sent (paths, control characters, hidden-file dots, names longer than a file system allows)."""

from __future__ import annotations

import re
import unicodedata
from email.message import Message

from erpmail.server.incoming.parse.fields import read_subject
from erpmail.server.incoming.parse.problems import Problems
from erpmail.server.incoming.parse.text import UNPRINTABLE
from erpmail.server.incoming.parse.tree import children_of, headers_of, param_text

MAX_FILE_NAME_BYTES = 255

_EXTENSIONS = {
    "text/plain": "txt",
    "text/html": "html",
    "text/csv": "csv",
    "text/calendar": "ics",
    "text/xml": "xml",
    "text/rfc822-headers": "txt",
    "application/xml": "xml",
    "application/json": "json",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/gzip": "gz",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/pkcs7-signature": "p7s",
    "application/pkcs7-mime": "p7m",
    "application/pgp-signature": "asc",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/svg+xml": "svg",
    "image/tiff": "tif",
    "image/bmp": "bmp",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
    "message/rfc822": "eml",
    "message/global": "eml",
    "message/delivery-status": "txt",
    "message/global-delivery-status": "txt",
}


def attachment_file_name(message: Message, ctype: str, problems: Problems) -> str:
    name = param_text(message, "filename", "content-disposition")
    name = name or param_text(message, "name", "content-type")
    children = children_of(message)
    if not name and ctype in ("message/rfc822", "message/global") and children:
        subject = read_subject(headers_of(children[0]), problems)
        name = f"{subject}.eml" if subject else ""
    return safe_file_name(name, ctype)


def safe_file_name(name: str, content_type: str = "application/octet-stream") -> str:
    """A name safe to save under: no directories, control characters, hidden-file dots or
    trailing dots, at most 255 bytes (the extension kept); "attachment.<ext>" when none is left."""
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in UNPRINTABLE)
    name = name.strip().lstrip(".").rstrip(". ").strip()
    if not name:
        return f"attachment.{_EXTENSIONS.get(content_type, 'bin')}"
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode()) > 32:
        stem, dot, extension = name, "", ""
    room = MAX_FILE_NAME_BYTES - len((dot + extension).encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ")
    return stem + dot + extension if stem else f"attachment{dot}{extension}"


def file_extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""
