"""The search box's syntax and what the index holds of an email, without a server: every term
reaches FTS5 quoted, so no text a person types is read as FTS5 syntax; HTML is indexed by the
text a reader sees."""

from __future__ import annotations

import sqlite3

import pytest
from erpmail.server.core.errors import InvalidArgument
from erpmail.server.mailbox.search import Term, match_expression, parse
from erpmail.server.mailbox.search_text import html_text, search_document
from erpmail.server.outgoing.models import Address, Content


def test_words_phrases_and_prefixes_become_quoted_terms_all_required() -> None:
    terms = parse('invoice  "due date" pay* "order 42"* ')
    assert terms == [
        Term("invoice"),
        Term("due date"),
        Term("pay", prefix=True),
        Term("order 42", prefix=True),
    ]
    assert match_expression(terms) == '"invoice" AND "due date" AND "pay" * AND "order 42" *'


def test_blank_text_searches_nothing_and_lone_punctuation_is_dropped() -> None:
    assert parse("   ") == []
    assert parse("invoice - &") == [Term("invoice")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('"due date', "not closed"),
        ('due"date"', "inside a word"),
        ('"due"date', "space after"),
        ('""', "empty phrase"),
        ("pa*y", "end of a word"),
        ("*", "at least 2"),
        ("p*", "at least 2"),
        ("--*", "at least 2"),
        ("?!", "no letters or digits"),
    ],
)
def test_unreadable_text_is_refused_saying_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse(text, "saved_view.query")
    (violation,) = refused.value.violations
    assert violation.field == "saved_view.query" and reason in violation.description


@pytest.mark.parametrize(
    "text",
    [
        "a OR b",
        "NOT a",
        "a AND",
        "NEAR(a b, 2)",
        "subject:a",
        "{subject body}: a",
        "(a",
        "a^",
        "^a",
        "a + b",
        "'a'",
        "a\\",
        "é ü ł ß 中文",
        "a\u0000b",
    ],
)
def test_fts5_syntax_typed_into_the_box_is_searched_as_text(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(a, b, prefix = '2 3')")
    db.execute("INSERT INTO t (a, b) VALUES ('a OR b', 'near subject')")
    try:
        expression = match_expression(parse(text))
    except InvalidArgument:
        return  # refused by the syntax, with its reason: never handed to SQLite
    if expression:
        db.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()


def test_html_text_keeps_what_a_reader_sees() -> None:
    markup = (
        "<!DOCTYPE html><html><head><title>t</title><style>.x{color:red}</style></head>"
        "<body><p class='x'>Price:&nbsp;10&amp;more</p><!-- note --><script>run()</script>"
        "<div>a&lt;b</div>5 < 6</body></html>"
    )
    assert html_text(markup) == "Price: 10&more a<b 5 < 6"


def test_the_index_holds_from_to_and_cc_but_not_bcc() -> None:
    content = Content(
        to=[Address("to@x.test", "To Person")],
        cc=[Address("cc@x.test")],
        bcc=[Address("secret@x.test")],
        subject="S",
        text_body="plain",
        html_body="<b>rich</b>",
    )
    document = search_document(content, Address("from@x.test", "Sender"))
    assert document.addresses == "Sender from@x.test To Person to@x.test cc@x.test"
    assert document.body == "plain\nrich"
