"""A single-part message is read without the feed parser's line-by-line pass, into the same tree;
any message the feed parser would read differently (multipart, message/*, a defect) is left to
it."""

from __future__ import annotations

import random
from email.message import Message

import pytest
from erpmail.server.incoming.parse.tree import read_single_part, read_with_feed_parser

SINGLE_PART = {
    "crlf": b"From: a@x\r\nTo: b@y\r\nSubject: hi\r\n\r\nHello\r\nthere\r\n",
    "bare lf": b"From: a@x\nSubject: hi\n\nHello\nthere\n",
    "bare cr": b"From: a@x\rSubject: hi\r\rHello\rthere\r",
    "mixed endings": b"From: a@x\r\nSubject: hi\n\r\nHello\rthere\n",
    "folded with spaces and tabs": (
        b"Subject: a long\r\n subject\r\n\tfolded twice\r\nTo: b@y,\r\n  c@z\r\n\r\nbody\r\n"
    ),
    "encoded words": b"Subject: =?utf-8?q?caf=C3=A9?=\r\n =?utf-8?b?w6k=?=\r\n\r\nx\r\n",
    "raw 8-bit": "Subject: Grüße\r\nFrom: Zoë <z@x>\r\n\r\nÀ bientôt\r\n".encode(),
    "latin-1 bytes": b"Subject: caf\xe9\r\n\r\nna\xefve\r\n",
    "empty values": b"X-Empty:\r\nX-Blank: \r\nX-Tab:\t\r\n\r\nbody\r\n",
    "duplicates": (
        b"Received: one\r\nReceived: two\r\nMessage-ID: <1@x>\r\nMessage-ID: <2@x>\r\n\r\n"
    ),
    "body like headers and boundaries": (
        b"Subject: x\r\n\r\nFrom someone\r\n--boundary\r\n\r\nTo: nobody\r\n.\r\n"
    ),
    "empty body": b"Subject: x\r\n\r\n",
    "no final newline": b"Subject: x\r\n\r\nlast line",
    "html": b'Content-Type: text/html; charset="iso-8859-1"\r\n\r\n<p>caf\xe9</p>\r\n',
    "upper-case type": b"Content-Type: TEXT/PLAIN; CHARSET=UTF-8\r\n\r\nx\r\n",
    "unreadable type": b"Content-Type: garbage\r\n\r\nx\r\n",
    "attachment": (
        b"Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=a.pdf\r\n\r\nJVBERi0=\r\n"
    ),
    "colon in value": b"Subject: re: re: x\r\nX-Odd-Name_1.2: a:b\r\n\r\n:\r\n",
}

LEFT_TO_THE_FEED_PARSER = {
    "multipart": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    "upper-case multipart": b"Content-Type: MULTIPART/alternative; boundary=b\r\n\r\n--b--\r\n",
    "attached message": b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nx\r\n",
    "delivery status": b"Content-Type: message/delivery-status\r\n\r\nAction: failed\r\n",
    "no blank line after the headers": b"Subject: x\r\nnot a header\r\n",
    "headers only": b"Subject: x\r\nTo: y",
    "first line folded": b" folded\r\nSubject: x\r\n\r\n",
    "unix from line": b"From a@x Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\nbody\r\n",
    "no header name": b":no name\r\nSubject: x\r\n\r\n",
    "space before the colon": b"Subject : x\r\n\r\nbody\r\n",
    "no headers": b"just words\r\n",
    "empty": b"",
}


def tree(message: Message) -> tuple[object, ...]:
    """Everything the feed parser sets on a message, but its policy (the same object)."""
    state = dict(vars(message))
    state.pop("policy")
    defects = state.pop("defects")
    return (sorted(state.items()), [(type(d), d.args) for d in defects])


@pytest.mark.parametrize("raw", SINGLE_PART.values(), ids=SINGLE_PART.keys())
def test_a_single_part_message_gives_the_tree_the_feed_parser_gives(raw: bytes) -> None:
    single = read_single_part(raw)
    assert single is not None
    assert tree(single) == tree(read_with_feed_parser(raw))


@pytest.mark.parametrize(
    "raw", LEFT_TO_THE_FEED_PARSER.values(), ids=LEFT_TO_THE_FEED_PARSER.keys()
)
def test_other_messages_are_left_to_the_feed_parser(raw: bytes) -> None:
    assert read_single_part(raw) is None


def test_a_large_body_is_taken_whole() -> None:
    body = b"".join(b"line %d\r\n" % n for n in range(100_000))
    raw = b"Subject: big\r\n\r\n" + body
    single = read_single_part(raw)
    assert single is not None
    assert single.get_payload(decode=True) == body


PIECES = [
    *(b"Subject", b"From", b"From ", b"To", b"Content-Type", b"Received", b":", b": ", b";"),
    *(b" ", b"\t", b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"x", b"body", b".", b"-", b"--b"),
    *(b"text/plain", b"multipart/mixed", b"message/rfc822", b"boundary=b", b"charset=utf-8"),
    *(b"\xe9", b"\xc3\xa9", b"=?utf-8?q?a?=", b'"', b"\x00", b"\x7f"),
]


def test_random_messages_read_either_way_give_the_same_tree() -> None:
    rng = random.Random(20251130)
    taken = 0
    for _ in range(5000):
        raw = b"".join(rng.choice(PIECES) for _ in range(rng.randrange(40)))
        single = read_single_part(raw)
        if single is not None:
            taken += 1
            assert tree(single) == tree(read_with_feed_parser(raw)), raw
    assert taken > 500  # the shortcut was tried on many of them
