"""A session's view of its selected folder, without sockets: which messages a UID set names, and
what the view reports when the folder changed under it."""

from __future__ import annotations

import pytest
from erpmail.sandbox.imap.arguments import sequence_set
from erpmail.sandbox.imap.selected import SelectedFolder
from erpmail.sandbox.imap.syntax import Atom
from erpmail.sandbox.store import INBOX, MailStore

UID_SETS = ["1", "3:5", "5:3", "2,4,4:5,1:2", "4:*", "*", "*:2", "9:*", "7:9", "1,9", "2:3,5"]


@pytest.fixture
def view() -> SelectedFolder:
    """INBOX with UIDs 1 to 6 and the message of UID 3 expunged: UIDs 1, 2, 4, 5, 6."""
    store = MailStore()
    mailbox = store.create_mailbox("alice@example.test", "pw")
    folder = mailbox.folder(INBOX)
    for n in range(6):
        store.append(mailbox, INBOX, b"Subject: %d\r\n\r\nbody\r\n" % n)
    del folder.messages[2]
    return SelectedFolder(mailbox, folder, read_only=True)


@pytest.mark.parametrize("text", UID_SETS)
def test_a_uid_set_names_the_messages_whose_uid_it_contains_in_sequence_order(
    view: SelectedFolder, text: str
) -> None:
    numbers = sequence_set(Atom(text))
    largest = view.largest_uid
    expected = [
        (number, message)
        for number, message in enumerate(view.messages, start=1)
        if numbers.contains(message.uid, largest)
    ]
    assert view.resolve(numbers, by_uid=True) == expected


def test_uid_sets_name_the_expected_sequence_numbers(view: SelectedFolder) -> None:
    def named(text: str) -> list[int]:
        return [n for n, _ in view.resolve(sequence_set(Atom(text)), by_uid=True)]

    assert named("2:5") == [2, 3, 4]
    assert named("9:*") == [5]  # "*" is the largest UID, 6
    assert named("3") == []


def test_an_unchanged_folder_reports_nothing(view: SelectedFolder) -> None:
    assert view.updates(expunges_allowed=True) == []


def test_new_mail_flag_changes_and_expunges_are_reported_in_order(view: SelectedFolder) -> None:
    folder = view.folder
    folder.messages[1].flags.add("\\Seen")
    folder.append(b"Subject: new\r\n\r\nbody\r\n")
    assert view.updates(expunges_allowed=True) == [
        b"* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n",
        b"* 6 EXISTS\r\n",
    ]
    del folder.messages[0]
    folder.messages[0].flags.add("\\Flagged")
    assert view.updates(expunges_allowed=True) == [
        b"* 1 EXPUNGE\r\n",
        b"* 1 FETCH (UID 2 FLAGS (\\Flagged \\Seen))\r\n",
    ]
    assert view.updates(expunges_allowed=True) == []


def test_an_expunge_waits_as_a_ghost_while_only_flags_and_new_mail_may_be_reported(
    view: SelectedFolder,
) -> None:
    folder = view.folder
    gone = folder.messages.pop(0)
    gone.flags.add("\\Deleted")  # a ghost's flags are not news
    folder.messages[0].flags.add("\\Seen")
    assert view.updates(expunges_allowed=False) == [b"* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n"]
    assert len(view.messages) == 5
    assert view.updates(expunges_allowed=True) == [b"* 1 EXPUNGE\r\n"]
    assert [m.uid for m in view.messages] == [2, 4, 5, 6]
