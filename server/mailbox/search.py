"""The search box's syntax (no I/O): what a person types, turned into an SQLite FTS5 query that
cannot fail.

Words are separated by spaces and every word must appear (in the subject, an address or the
body; any case, accents ignored). "Quoted words" must appear together, in that order. A word or
a quoted phrase ending in * matches any word it begins (invoi* finds invoice and invoices; at
least two letters or digits before the *). Everything else is text: FTS5's own operators (AND,
OR, NOT, NEAR, column filters, parentheses) are searched for as words, because every term is
handed to FTS5 quoted.

Text that cannot be read is refused naming `query` and saying why: an unclosed quotation mark,
a * anywhere but at the end of a word, nothing to search for, too long or too many words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from erpmail.server.core.errors import InvalidArgument

MAX_LENGTH = 500
MAX_TERMS = 16
MIN_PREFIX = 2


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool = False


def parse(text: str, field: str = "query") -> list[Term]:
    """The terms of the search text; none for blank text. InvalidArgument naming `field`."""
    if len(text) > MAX_LENGTH:
        raise InvalidArgument.of(field, f"is longer than {MAX_LENGTH} characters")
    if any(unicodedata.category(c) == "Cc" and not c.isspace() for c in text):
        raise InvalidArgument.of(field, "contains a control character")
    terms: list[Term] = []
    for words, prefix in _pieces(text, field):
        if not _searchable(words) and not prefix:
            continue  # punctuation alone: nothing that FTS5 indexes
        if prefix and len(_last_word(words)) < MIN_PREFIX:
            raise InvalidArgument.of(
                field, f"needs at least {MIN_PREFIX} letters or digits before * ({words}*)"
            )
        terms.append(Term(words, prefix))
    if not terms and text.strip():
        raise InvalidArgument.of(field, "has no letters or digits to search for")
    if len(terms) > MAX_TERMS:
        raise InvalidArgument.of(field, f"has more than {MAX_TERMS} words and phrases")
    return terms


def match_expression(terms: list[Term]) -> str:
    """The FTS5 query: each term a quoted string (quotes doubled), all of them required."""
    return " AND ".join(
        '"' + t.text.replace('"', '""') + '"' + (" *" if t.prefix else "") for t in terms
    )


def _pieces(text: str, field: str) -> Iterator[tuple[str, bool]]:
    """(words, prefix) of each word or quoted phrase, in order."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise InvalidArgument.of(
                    field, f"has a quotation mark that is not closed (character {i + 1})"
                )
            words, i = text[i + 1 : close], close + 1
            if not words.strip():
                raise InvalidArgument.of(field, f'has an empty phrase "" (character {close})')
            prefix = i < n and text[i] == "*"
            if prefix:
                i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] != '"':
                i += 1
            if i < n and text[i] == '"':
                raise InvalidArgument.of(
                    field, f"has a quotation mark inside a word (character {i + 1})"
                )
            word = text[start:i]
            prefix = word.endswith("*")
            words = word[:-1] if prefix else word
            if "*" in words:
                raise InvalidArgument.of(
                    field,
                    f"may have * only at the end of a word ({word}), to match words that begin so",
                )
        if i < n and not text[i].isspace():
            raise InvalidArgument.of(
                field, f"needs a space after a quoted phrase (character {i + 1})"
            )
        yield words, prefix


def _token_char(c: str) -> bool:
    # What FTS5's unicode61 tokenizer keeps in words: letters, numbers and private-use signs.
    return unicodedata.category(c)[0] in "LN" or unicodedata.category(c) == "Co"


def _searchable(words: str) -> bool:
    return any(_token_char(c) for c in words)


def _last_word(words: str) -> str:
    end = len(words)
    start = end
    while start > 0 and _token_char(words[start - 1]):
        start -= 1
    return words[start:end]
