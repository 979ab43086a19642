"""Reading the Subject for content rules, without a full MIME parse."""

from __future__ import annotations

from erpmail.sandbox.smtp.headers import subject_of


def test_plain_subject() -> None:
    assert subject_of(b"From: a@b\r\nSubject: Invoice 1001\r\n\r\nbody") == "Invoice 1001"


def test_header_name_in_any_case_and_folded_value() -> None:
    raw = b"SUBJECT: Invoice\r\n  for March\r\nTo: x@y\r\n\r\n"
    assert subject_of(raw) == "Invoice  for March"


def test_encoded_words_are_decoded() -> None:
    raw = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Berlin\r\n\r\n"
    assert subject_of(raw) == "Grüße aus Berlin"


def test_raw_utf8_is_read_as_utf8() -> None:
    assert subject_of("Subject: Grüße\r\n\r\n".encode()) == "Grüße"


def test_a_subject_line_in_the_body_does_not_count() -> None:
    assert subject_of(b"From: a@b\r\n\r\nSubject: not a header\r\n") == ""


def test_no_subject_and_bare_lf_line_endings() -> None:
    assert subject_of(b"From: a@b\n\nbody") == ""
    assert subject_of(b"Subject: lf only\nFrom: a@b\n\nbody") == "lf only"


def test_a_broken_encoded_word_is_left_as_it_is() -> None:
    assert subject_of(b"Subject: =?bogus-charset?q?x?=\r\n\r\n") == "=?bogus-charset?q?x?="
