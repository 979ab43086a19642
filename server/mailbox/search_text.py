"""What the search index holds of an email (no I/O): its subject, its addresses and its body,
with the HTML body reduced to the text a reader sees, so that tag and attribute names (div,
style, href, font) never match a search."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from erpmail.server.outgoing.models import Address, Content

# Blocks whose content is not text a reader sees; then comments, then any other tag.
_HIDDEN = re.compile(r"<(script|style|head|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(-->|$)", re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!?][^>]*>?")


@dataclass(frozen=True)
class SearchDocument:
    subject: str
    addresses: str
    body: str


def html_text(markup: str) -> str:
    """The text of an HTML body: tags, comments, scripts and styles taken out, character
    references read (&amp; is &), runs of white space made one space."""
    if not markup:
        return ""
    text = _HIDDEN.sub(" ", markup)
    text = _COMMENT.sub(" ", text)
    text = _TAG.sub(" ", text)
    return " ".join(html.unescape(text).split())


def search_document(content: Content, sender: Address | None) -> SearchDocument:
    """The email as the index holds it: From, To and Cc (names and addresses; Bcc stays
    private), the subject, and both bodies (white space made single spaces)."""
    people = ([sender] if sender is not None else []) + content.to + content.cc
    text = " ".join(content.text_body.split())
    rich = html_text(content.html_body)
    return SearchDocument(
        subject=content.subject,
        addresses=" ".join(f"{a.name} {a.address}".strip() for a in people),
        # The usual pair of bodies says the same twice: indexing it once halves the work.
        body=text if rich == text else f"{text}\n{rich}".strip(),
    )
