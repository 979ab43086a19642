"""Reading arguments: sequence sets, dates, flags, mailbox names; no sockets."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from erpmail.sandbox.imap import mutf7
from erpmail.sandbox.imap.arguments import (
    ArgumentError,
    date_time,
    flag_list,
    mailbox_name,
    search_date,
    sequence_set,
)
from erpmail.sandbox.imap.syntax import Atom, Group, String


def test_sequence_set_ranges_and_star() -> None:
    numbers = sequence_set(Atom("1,3:4,9:*"))
    assert [n for n in range(1, 13) if numbers.contains(n, largest=12)] == [1, 3, 4, 9, 10, 11, 12]


def test_a_range_may_be_given_backwards() -> None:
    assert sequence_set(Atom("5:2")).contains(3, largest=10)


def test_star_range_past_the_largest_still_includes_the_largest() -> None:
    # RFC 3501: "n:*" with n above every UID means the last message (how clients poll).
    assert sequence_set(Atom("8:*")).contains(5, largest=5)


@pytest.mark.parametrize("text", ["0", "0:*", "1,,2", "a", "1:2:3", "-1", ""])
def test_invalid_sequence_sets_are_refused(text: str) -> None:
    with pytest.raises(ArgumentError):
        sequence_set(Atom(text))


def test_search_dates_accept_one_or_two_digit_days_quoted_or_not() -> None:
    assert search_date(Atom("1-Feb-1994")) == date(1994, 2, 1)
    assert search_date(String(b"01-feb-1994")) == date(1994, 2, 1)
    with pytest.raises(ArgumentError):
        search_date(Atom("31-Feb-1994"))
    with pytest.raises(ArgumentError):
        search_date(Atom("1994-02-01"))


def test_append_date_time_keeps_its_zone() -> None:
    moment = date_time(String(b" 7-Jul-1996 02:44:25 -0700"))
    assert moment == datetime(1996, 7, 7, 2, 44, 25, tzinfo=timezone(-timedelta(hours=7)))
    with pytest.raises(ArgumentError):
        date_time(String(b"7-Jul-1996"))


def test_system_flags_are_case_insensitive_keywords_are_kept() -> None:
    assert flag_list(Group((Atom("\\SEEN"), Atom("$Forwarded")))) == {"\\Seen", "$Forwarded"}
    with pytest.raises(ArgumentError):
        flag_list(Group((String(b"quoted"),)))


def test_mailbox_names_inbox_in_any_case_and_no_trailing_delimiter() -> None:
    assert mailbox_name(Atom("inbox")) == "INBOX"
    assert mailbox_name(String(b"Projects/")) == "Projects"
    with pytest.raises(ArgumentError):
        mailbox_name(String(b""))


def test_modified_utf7_round_trips_non_ascii_names_and_ampersand() -> None:
    for name in ["Entwürfe", "日本語", "A & B", "plain", "mixé/sous-dossier"]:
        assert mutf7.decode(mutf7.encode(name)) == name
    assert mutf7.encode("Entwürfe") == "Entw&APw-rfe"
    assert mutf7.encode("A & B") == "A &- B"
    assert mailbox_name(Atom("Entw&APw-rfe")) == "Entwürfe"
