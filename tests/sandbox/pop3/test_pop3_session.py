"""The POP3 state machine fed with bytes, no sockets: commands, states, replies, UPDATE."""

from __future__ import annotations

import base64

import pytest
from erpmail.sandbox.pop3 import replies
from erpmail.sandbox.pop3.outputs import Close, Output, Send, StartTls
from erpmail.sandbox.pop3.session import MAX_LINE, Pop3Session, State
from erpmail.sandbox.store import INBOX, Mailbox, MailStore

from tests.sandbox.pop3.support import (
    ADDRESS,
    FIRST,
    MESSAGES,
    PASSWORD,
    SECOND,
    THIRD,
    crlf,
    inbox_bodies,
)


def sent(outputs: list[Output]) -> bytes:
    return b"".join(output.data for output in outputs if isinstance(output, Send))


def lines(outputs: list[Output]) -> list[bytes]:
    data = sent(outputs)
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def new_session(store: MailStore, **options: object) -> Pop3Session:
    session = Pop3Session(store, session_id="test", **options)  # type: ignore[arg-type]
    assert lines(session.start()) == [replies.GREETING.encode()]
    return session


def logged_in(store: MailStore, **options: object) -> Pop3Session:
    session = new_session(store, **options)
    out = lines(session.receive(f"USER {ADDRESS}\r\nPASS {PASSWORD}\r\n".encode()))
    assert out[1].startswith(b"+OK")
    assert session.state is State.TRANSACTION
    return session


def reply(session: Pop3Session, command: str) -> bytes:
    """The one status line answering a single-line command."""
    out = lines(session.receive(command.encode() + b"\r\n"))
    assert len(out) == 1, out
    return out[0]


def body(session: Pop3Session, command: str) -> tuple[bytes, list[bytes]]:
    """Status line and body lines (still byte-stuffed) of a multi-line reply."""
    out = lines(session.receive(command.encode() + b"\r\n"))
    assert out[-1] == b".", out
    return out[0], out[1:-1]


# -- authorization -------------------------------------------------------------------------


def test_user_and_pass_open_the_maildrop_and_report_its_size(store: MailStore) -> None:
    session = new_session(store)
    assert reply(session, f"USER {ADDRESS}") == replies.USER_ACCEPTED.encode()
    status = reply(session, f"PASS {PASSWORD}")
    size = sum(len(crlf(raw)) for raw in MESSAGES)
    assert status == replies.LOGGED_IN.format(count=3, size=size).encode()


def test_password_may_contain_spaces(store: MailStore) -> None:
    assert " " in PASSWORD
    session = new_session(store)
    reply(session, f"USER {ADDRESS}")
    assert reply(session, f"PASS {PASSWORD}").startswith(b"+OK")


def test_wrong_password_is_refused_and_the_client_may_try_again(store: MailStore) -> None:
    session = new_session(store)
    reply(session, f"USER {ADDRESS}")
    assert reply(session, "PASS wrong") == replies.ERR_LOGIN_FAILED.encode()
    assert session.state is State.AUTHORIZATION
    reply(session, f"USER {ADDRESS}")
    assert reply(session, f"PASS {PASSWORD}").startswith(b"+OK")


def test_unknown_user_gets_the_same_answers_as_a_known_one(store: MailStore) -> None:
    session = new_session(store)
    assert reply(session, "USER nobody@example.com") == replies.USER_ACCEPTED.encode()
    assert reply(session, "PASS x") == replies.ERR_LOGIN_FAILED.encode()


def test_pass_without_user_is_refused(store: MailStore) -> None:
    session = new_session(store)
    assert reply(session, f"PASS {PASSWORD}") == replies.ERR_USER_FIRST.encode()


def test_user_without_a_name_is_refused(store: MailStore) -> None:
    assert reply(new_session(store), "USER") == replies.ERR_MISSING_ARGUMENT.encode()


@pytest.mark.parametrize("command", ["STAT", "LIST", "UIDL", "RETR 1", "DELE 1", "NOOP", "RSET"])
def test_transaction_commands_are_refused_before_login(store: MailStore, command: str) -> None:
    session = new_session(store)
    assert reply(session, command) == replies.ERR_NOT_AUTHENTICATED.encode()
    assert session.state is State.AUTHORIZATION


@pytest.mark.parametrize("command", ["USER bob", "PASS x", "AUTH PLAIN", "STLS"])
def test_authorization_commands_are_refused_after_login(store: MailStore, command: str) -> None:
    session = logged_in(store, starttls_available=True)
    assert reply(session, command) == replies.ERR_ALREADY_AUTHENTICATED.encode()
    assert reply(session, "NOOP") == b"+OK"


def test_commands_are_case_insensitive(store: MailStore) -> None:
    session = new_session(store)
    reply(session, f"user {ADDRESS}")
    assert reply(session, f"pAsS {PASSWORD}").startswith(b"+OK")
    assert reply(session, "stat").startswith(b"+OK 3 ")


def test_a_second_session_on_a_locked_maildrop_is_told_it_is_in_use(store: MailStore) -> None:
    in_use: set[str] = set()
    first = logged_in(store, in_use=in_use)
    second = new_session(store, in_use=in_use)
    reply(second, f"USER {ADDRESS}")
    assert reply(second, f"PASS {PASSWORD}") == replies.ERR_MAILDROP_LOCKED.encode()
    first.receive(b"QUIT\r\n")
    reply(second, f"USER {ADDRESS}")
    assert reply(second, f"PASS {PASSWORD}").startswith(b"+OK")


def test_a_lost_connection_releases_the_maildrop_lock(store: MailStore) -> None:
    in_use: set[str] = set()
    logged_in(store, in_use=in_use).connection_lost()
    assert in_use == set()


# -- transaction ---------------------------------------------------------------------------


def test_stat_counts_messages_and_octets(store: MailStore) -> None:
    size = sum(len(crlf(raw)) for raw in MESSAGES)
    assert reply(logged_in(store), "STAT") == f"+OK 3 {size}".encode()


def test_list_gives_each_message_size_or_one(store: MailStore) -> None:
    session = logged_in(store)
    status, listing = body(session, "LIST")
    assert status.startswith(b"+OK 3 messages")
    assert listing == [f"{n} {len(crlf(raw))}".encode() for n, raw in enumerate(MESSAGES, 1)]
    assert reply(session, "LIST 2") == f"+OK 2 {len(crlf(SECOND))}".encode()


def test_uidl_ids_are_stable_across_sessions(store: MailStore, mailbox: Mailbox) -> None:
    first = logged_in(store)
    _, listing = body(first, "UIDL")
    first.receive(b"QUIT\r\n")
    _, again = body(logged_in(store), "UIDL")
    uidvalidity = mailbox.folder(INBOX).uidvalidity
    assert listing == again == [f"{n} {uidvalidity}.{n}".encode() for n in (1, 2, 3)]


def test_uidl_of_one_message(store: MailStore, mailbox: Mailbox) -> None:
    uidvalidity = mailbox.folder(INBOX).uidvalidity
    assert reply(logged_in(store), "UIDL 3") == f"+OK 3 {uidvalidity}.3".encode()


def test_retr_byte_stuffs_lines_that_start_with_a_dot(store: MailStore) -> None:
    status, message = body(logged_in(store), "RETR 1")
    assert status == f"+OK {len(FIRST)} octets".encode()
    assert message == [
        b"From: bob@example.com",
        b"Subject: first",
        b"",
        b"Hello Alice",
        b"..starts with a dot",
        b"...two dots",
        b"..",
        b"bye",
    ]


def test_retr_sends_a_bare_lf_message_with_crlf_and_its_size_matches(store: MailStore) -> None:
    session = logged_in(store)
    data = sent(session.receive(b"RETR 2\r\n"))
    status, _, rest = data.partition(b"\r\n")
    assert rest == crlf(SECOND) + b".\r\n"
    assert status == f"+OK {len(crlf(SECOND))} octets".encode()


def test_top_sends_the_header_and_the_first_lines_of_the_body(store: MailStore) -> None:
    session = logged_in(store)
    assert body(session, "TOP 2 1")[1] == [b"Subject: second", b"", b"line one"]
    assert body(session, "TOP 3 0")[1] == [b"Subject: third", b""]


def test_top_needs_a_line_count(store: MailStore) -> None:
    session = logged_in(store)
    assert reply(session, "TOP 1") == replies.ERR_MISSING_ARGUMENT.encode()
    assert reply(session, "TOP 1 x") == replies.ERR_BAD_LINE_COUNT.format(argument="x").encode()


def test_dele_hides_the_message_for_the_rest_of_the_session(store: MailStore) -> None:
    session = logged_in(store)
    assert reply(session, "DELE 1") == replies.DELE_OK.format(number=1).encode()
    assert reply(session, "STAT") == f"+OK 2 {len(crlf(SECOND)) + len(THIRD)}".encode()
    assert [line.split()[0] for line in body(session, "LIST")[1]] == [b"2", b"3"]
    assert [line.split()[0] for line in body(session, "UIDL")[1]] == [b"2", b"3"]
    deleted = replies.ERR_MESSAGE_DELETED.format(number=1).encode()
    for command in ("RETR 1", "TOP 1 0", "LIST 1", "UIDL 1", "DELE 1"):
        assert reply(session, command) == deleted


def test_rset_undeletes_everything(store: MailStore) -> None:
    session = logged_in(store)
    reply(session, "DELE 1")
    reply(session, "DELE 3")
    assert reply(session, "RSET").startswith(b"+OK Maildrop has 3 messages")
    assert body(session, "RETR 1")[0].startswith(b"+OK")
    assert body(session, "RETR 3")[0].startswith(b"+OK")


def test_messages_keep_their_numbers_after_a_deletion(store: MailStore) -> None:
    session = logged_in(store)
    reply(session, "DELE 1")
    assert body(session, "RETR 3")[1] == [b"Subject: third", b"", b"short"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("RETR", replies.ERR_MISSING_ARGUMENT),
        ("RETR x", replies.ERR_BAD_NUMBER.format(argument="x")),
        ("RETR -1", replies.ERR_BAD_NUMBER.format(argument="-1")),
        ("RETR 0", replies.ERR_NO_SUCH_MESSAGE),
        ("RETR 4", replies.ERR_NO_SUCH_MESSAGE),
        ("RETR 99999999999999999999", replies.ERR_BAD_NUMBER.format(argument="9" * 20)),
        ("RETR 1 2", replies.ERR_TOO_MANY_ARGUMENTS),
        ("DELE ²", replies.ERR_BAD_NUMBER.format(argument="²")),
        ("LIST 1 2", replies.ERR_TOO_MANY_ARGUMENTS),
        ("STAT 1", replies.ERR_TOO_MANY_ARGUMENTS),
        ("NOOP now", replies.ERR_TOO_MANY_ARGUMENTS),
    ],
)
def test_bad_arguments_get_an_error_and_the_session_carries_on(
    store: MailStore, command: str, expected: str
) -> None:
    session = logged_in(store)
    assert reply(session, command) == expected.encode()
    assert reply(session, "NOOP") == b"+OK"


def test_mail_arriving_after_login_waits_for_the_next_session(store: MailStore) -> None:
    session = logged_in(store)
    store.deliver("bob@example.com", [ADDRESS], b"Subject: late\r\n\r\nx\r\n")
    assert reply(session, "STAT").startswith(b"+OK 3 ")
    assert reply(session, "LIST 4") == replies.ERR_NO_SUCH_MESSAGE.encode()
    session.receive(b"QUIT\r\n")
    assert reply(logged_in(store), "STAT").startswith(b"+OK 4 ")


# -- update --------------------------------------------------------------------------------


def test_quit_removes_the_deleted_messages(store: MailStore, mailbox: Mailbox) -> None:
    session = logged_in(store)
    reply(session, "DELE 1")
    reply(session, "DELE 2")
    assert inbox_bodies(mailbox) == list(MESSAGES)
    outputs = session.receive(b"QUIT\r\n")
    assert lines(outputs) == [replies.QUIT_OK.format(deleted=2, left=1).encode()]
    assert isinstance(outputs[-1], Close)
    assert inbox_bodies(mailbox) == [THIRD]
    assert session.state is State.CLOSED


def test_a_lost_connection_removes_nothing(store: MailStore, mailbox: Mailbox) -> None:
    session = logged_in(store)
    reply(session, "DELE 1")
    session.connection_lost()
    assert inbox_bodies(mailbox) == list(MESSAGES)


def test_quit_before_login_only_says_goodbye(store: MailStore, mailbox: Mailbox) -> None:
    outputs = new_session(store).receive(b"QUIT\r\n")
    assert lines(outputs) == [replies.BYE.encode()]
    assert isinstance(outputs[-1], Close)


def test_quit_after_the_mailbox_was_removed_reports_the_failure(store: MailStore) -> None:
    session = logged_in(store)
    reply(session, "DELE 1")
    store.reset()
    assert lines(session.receive(b"QUIT\r\n")) == [replies.ERR_SOME_NOT_REMOVED.encode()]


def test_nothing_is_read_after_quit(store: MailStore) -> None:
    session = logged_in(store)
    outputs = session.receive(b"QUIT\r\nDELE 1\r\nNOOP\r\n")
    assert len(lines(outputs)) == 1
    assert session.receive(b"NOOP\r\n") == []


# -- framing -------------------------------------------------------------------------------


def test_pipelined_commands_are_answered_in_order_in_one_write(store: MailStore) -> None:
    session = new_session(store)
    outputs = session.receive(f"USER {ADDRESS}\r\nPASS {PASSWORD}\r\nSTAT\r\nNOOP\r\n".encode())
    assert len(outputs) == 1
    out = lines(outputs)
    assert [line[:3] for line in out] == [b"+OK"] * 4
    assert out[2].startswith(b"+OK 3 ")


def test_a_command_split_across_reads_is_handled_once_complete(store: MailStore) -> None:
    session = logged_in(store)
    assert session.receive(b"ST") == []
    assert session.receive(b"A") == []
    assert lines(session.receive(b"T\r\n"))[0].startswith(b"+OK 3 ")


def test_bare_lf_ends_a_command_too(store: MailStore) -> None:
    assert lines(logged_in(store).receive(b"NOOP\n")) == [b"+OK"]


def test_unknown_and_empty_commands_get_an_error(store: MailStore) -> None:
    session = logged_in(store)
    for command in ("FETCH 1", "", "APOP alice 0123", "__init__", "cmd_stat"):
        assert reply(session, command) == replies.ERR_UNKNOWN_COMMAND.encode()
    assert reply(session, "NOOP") == b"+OK"


def test_a_line_longer_than_the_rfc_limit_is_still_accepted(store: MailStore) -> None:
    session = logged_in(store)
    assert reply(session, "NOOP" + " " * 1000) == b"+OK"


def test_an_over_long_line_is_refused_and_the_next_command_works(store: MailStore) -> None:
    session = logged_in(store)
    out = lines(session.receive(b"X" * (MAX_LINE + 10) + b"\r\nNOOP\r\n"))
    assert out == [replies.ERR_LINE_TOO_LONG.encode(), b"+OK"]


def test_an_over_long_line_arriving_in_pieces_gets_one_error(store: MailStore) -> None:
    session = logged_in(store)
    out = sent(session.receive(b"X" * (MAX_LINE + 1)))
    assert out == replies.ERR_LINE_TOO_LONG.encode() + b"\r\n"
    assert session.receive(b"Y" * MAX_LINE) == []
    assert lines(session.receive(b"Y\r\nNOOP\r\n")) == [b"+OK"]


def test_invalid_utf8_gets_an_error(store: MailStore) -> None:
    session = logged_in(store)
    assert lines(session.receive(b"NO\xffOP\r\n")) == [replies.ERR_BAD_ENCODING.encode()]
    assert reply(session, "NOOP") == b"+OK"


# -- CAPA and STLS -------------------------------------------------------------------------


def test_capa_lists_the_extensions(store: MailStore) -> None:
    status, capabilities = body(new_session(store, starttls_available=True), "CAPA")
    assert status == replies.CAPA_FOLLOWS.encode()
    for expected in (b"TOP", b"UIDL", b"USER", b"SASL PLAIN XOAUTH2", b"STLS", b"RESP-CODES"):
        assert expected in capabilities


def test_capa_after_login_drops_the_login_capabilities(store: MailStore) -> None:
    _, capabilities = body(logged_in(store, starttls_available=True), "CAPA")
    assert b"TOP" in capabilities
    assert b"USER" not in capabilities
    assert b"STLS" not in capabilities


def test_stls_starts_tls_and_forgets_what_was_pipelined_in_the_clear(store: MailStore) -> None:
    session = new_session(store, starttls_available=True)
    outputs = session.receive(f"STLS\r\nUSER {ADDRESS}\r\nPASS {PASSWORD}\r\n".encode())
    assert outputs == [Send(replies.STLS_OK.encode() + b"\r\n"), StartTls()]
    assert session.receive(b"NOOP\r\n") == []  # nothing is read until the handshake is done
    session.tls_started()
    assert reply(session, "STAT") == replies.ERR_NOT_AUTHENTICATED.encode()
    assert reply(session, "STLS") == replies.ERR_TLS_ACTIVE.encode()
    assert b"STLS" not in body(session, "CAPA")[1]


def test_stls_is_refused_without_a_tls_context(store: MailStore) -> None:
    session = new_session(store)
    assert reply(session, "STLS") == replies.ERR_TLS_UNAVAILABLE.encode()
    assert b"STLS" not in body(session, "CAPA")[1]


def test_stls_is_refused_on_an_implicit_tls_connection(store: MailStore) -> None:
    session = new_session(store, tls_active=True, starttls_available=False)
    assert reply(session, "STLS") == replies.ERR_TLS_ACTIVE.encode()


# -- AUTH ----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def plain(user: str = ADDRESS, password: str = PASSWORD) -> str:
    return b64(f"\0{user}\0{password}".encode())


def test_auth_plain_with_an_initial_response_logs_in(store: MailStore) -> None:
    session = new_session(store)
    assert reply(session, f"AUTH PLAIN {plain()}").startswith(b"+OK Logged in")
    assert session.state is State.TRANSACTION


def test_auth_plain_after_a_continuation_logs_in(store: MailStore) -> None:
    session = new_session(store)
    assert sent(session.receive(b"AUTH PLAIN\r\n")) == b"+ \r\n"
    assert reply(session, plain()).startswith(b"+OK Logged in")


def test_auth_plain_with_a_wrong_password_is_refused(store: MailStore) -> None:
    session = new_session(store)
    assert reply(session, f"AUTH plain {plain(password='nope')}") == (
        replies.ERR_LOGIN_FAILED.encode()
    )
    assert session.state is State.AUTHORIZATION


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("not base64!", replies.ERR_AUTH_BAD_BASE64),
        ("QUJ", replies.ERR_AUTH_BAD_BASE64),
        ("=", replies.ERR_AUTH_MALFORMED),
        (b64(b"only-one-part"), replies.ERR_AUTH_MALFORMED),
        (b64(b"\0\xff\xfe\0pw"), replies.ERR_AUTH_MALFORMED),
        ("*", replies.ERR_AUTH_CANCELLED),
    ],
)
def test_bad_sasl_responses_get_an_error_and_the_session_carries_on(
    store: MailStore, response: str, expected: str
) -> None:
    session = new_session(store)
    session.receive(b"AUTH PLAIN\r\n")
    assert reply(session, response) == expected.encode()
    assert reply(session, f"AUTH PLAIN {plain()}").startswith(b"+OK Logged in")


def test_auth_with_an_unknown_mechanism_is_refused(store: MailStore) -> None:
    session = new_session(store)
    assert reply(session, "AUTH CRAM-MD5") == replies.ERR_AUTH_UNSUPPORTED.encode()


def test_auth_without_a_mechanism_lists_the_mechanisms(store: MailStore) -> None:
    assert body(new_session(store), "AUTH")[1] == [b"PLAIN", b"XOAUTH2"]


def test_auth_xoauth2_with_an_issued_token_logs_in(store: MailStore, mailbox: Mailbox) -> None:
    token = store.issue_token(mailbox)
    response = b64(f"user={ADDRESS}\x01auth=Bearer {token}\x01\x01".encode())
    session = new_session(store)
    assert reply(session, f"AUTH XOAUTH2 {response}").startswith(b"+OK Logged in")


def test_auth_xoauth2_with_a_bad_token_sends_the_error_challenge_then_refuses(
    store: MailStore,
) -> None:
    response = b64(f"user={ADDRESS}\x01auth=Bearer forged\x01\x01".encode())
    session = new_session(store)
    challenge = reply(session, f"AUTH XOAUTH2 {response}")
    assert challenge.startswith(b"+ ")
    assert b'"status": "401"' in base64.b64decode(challenge[2:])
    assert reply(session, "") == replies.ERR_LOGIN_FAILED.encode()
    assert session.state is State.AUTHORIZATION


def test_a_password_is_not_a_token(store: MailStore) -> None:
    response = b64(f"user={ADDRESS}\x01auth=Bearer {PASSWORD}\x01\x01".encode())
    assert reply(new_session(store), f"AUTH XOAUTH2 {response}").startswith(b"+ ")


def test_an_over_long_sasl_response_ends_the_exchange(store: MailStore) -> None:
    session = new_session(store)
    session.receive(b"AUTH PLAIN\r\n")
    out = lines(session.receive(b"A" * (MAX_LINE + 4) + b"\r\nNOOP\r\n"))
    assert out == [replies.ERR_LINE_TOO_LONG.encode(), replies.ERR_NOT_AUTHENTICATED.encode()]
