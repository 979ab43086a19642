"""Deciding what to fetch (erpmail.server.incoming.sync), without any server."""

from __future__ import annotations

import pytest
from erpmail.server.incoming.sync import (
    FolderCursor,
    FolderPlan,
    batches,
    cursor_after,
    new_uidls,
    plan_folder,
    uid_set,
    uids_from,
)

# -- planning a folder ------------------------------------------------------------------------


def test_a_folder_seen_for_the_first_time_is_fetched_from_uid_1_and_deduplicated() -> None:
    assert plan_folder(None, "INBOX", 77, 10) == FolderPlan(
        start_uid=1, resync=True, nothing_new=False
    )


def test_a_new_uidvalidity_restarts_from_uid_1_never_0() -> None:
    saved = FolderCursor("INBOX", 77, 500)
    plan = plan_folder(saved, "INBOX", 78, 3)
    assert plan.start_uid == 1
    assert plan.resync


def test_with_the_same_uidvalidity_fetching_starts_after_the_last_stored_uid() -> None:
    saved = FolderCursor("INBOX", 77, 41)
    assert plan_folder(saved, "INBOX", 77, 50) == FolderPlan(
        start_uid=42, resync=False, nothing_new=False
    )


def test_uidnext_right_after_the_cursor_means_nothing_new() -> None:
    saved = FolderCursor("INBOX", 77, 41)
    assert plan_folder(saved, "INBOX", 77, 42).nothing_new


def test_an_unknown_or_backwards_uidnext_is_not_trusted_to_mean_nothing_new() -> None:
    saved = FolderCursor("INBOX", 77, 41)
    assert not plan_folder(saved, "INBOX", 77, 0).nothing_new  # server did not say
    backwards = plan_folder(saved, "INBOX", 77, 30)
    assert not backwards.nothing_new
    assert backwards.start_uid == 42


def test_a_cursor_saved_for_another_folder_is_not_used() -> None:
    assert plan_folder(FolderCursor("Sent", 77, 41), "INBOX", 77, 50).resync


def test_an_empty_folder_with_a_fresh_cursor_has_nothing_new() -> None:
    saved = FolderCursor("INBOX", 77, 0)
    plan = plan_folder(saved, "INBOX", 77, 1)
    assert plan.start_uid == 1
    assert plan.nothing_new


# -- moving the cursor ------------------------------------------------------------------------


def test_the_cursor_never_moves_backwards_within_one_uidvalidity() -> None:
    saved = FolderCursor("INBOX", 77, 41)
    assert cursor_after(saved, "INBOX", 77, 30) == saved
    assert cursor_after(saved, "INBOX", 77, 45) == FolderCursor("INBOX", 77, 45)


def test_a_new_uidvalidity_replaces_the_cursor() -> None:
    saved = FolderCursor("INBOX", 77, 500)
    assert cursor_after(saved, "INBOX", 78, 3) == FolderCursor("INBOX", 78, 3)


# -- UID lists --------------------------------------------------------------------------------


def test_search_results_below_the_start_are_dropped() -> None:
    # `UID SEARCH UID 42:*` answers with the highest UID even when it is below 42.
    assert uids_from([41], 42) == []
    assert uids_from([45, 42, 41, 45], 42) == [42, 45]


def test_batches_have_at_most_the_given_size_and_keep_the_order() -> None:
    assert list(batches([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(batches([], 2)) == []
    with pytest.raises(ValueError):
        list(batches([1], 0))


def test_uid_sets_collapse_runs() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"
    with pytest.raises(ValueError):
        uid_set([])


# -- POP3 -------------------------------------------------------------------------------------


def test_pop3_messages_already_seen_by_uidl_are_skipped_in_number_order() -> None:
    listing = {3: "c", 1: "a", 2: "b"}
    assert new_uidls(listing, {"b"}) == [(1, "a"), (3, "c")]
    assert new_uidls(listing, {"a", "b", "c"}) == []


def test_a_uidl_the_server_lists_twice_is_fetched_once() -> None:
    assert new_uidls({1: "a", 2: "a", 3: "b"}, set()) == [(1, "a"), (3, "b")]
