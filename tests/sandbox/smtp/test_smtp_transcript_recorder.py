"""The transcript recorder fed lines directly, without sockets."""

from __future__ import annotations

from erpmail.sandbox.smtp.transcript import REDACTED, Direction, Transcript


def texts(transcript: Transcript) -> list[str]:
    return [line.render() for line in transcript.lines]


def test_data_lines_are_counted_not_kept() -> None:
    transcript = Transcript(peer="p")
    transcript.client(b"DATA\r\n")
    transcript.server("354 go ahead")
    transcript.client(b"Subject: secret plans\r\n")
    transcript.client(b"\r\n")
    transcript.client(b".\r\n")
    transcript.server("250 OK")
    assert texts(transcript) == [
        "C: DATA",
        "S: 354 go ahead",
        "C: <message data: 25 bytes>",
        "C: .",
        "S: 250 OK",
    ]


def test_a_server_that_does_not_feed_data_lines_reports_the_size_itself() -> None:
    transcript = Transcript()
    transcript.server("354 go ahead")
    transcript.message_data(1234)
    transcript.server("250 OK")
    assert texts(transcript)[1:3] == ["C: <message data: 1234 bytes>", "C: ."]


def test_the_answer_to_a_334_challenge_is_redacted_but_an_abort_is_kept() -> None:
    transcript = Transcript()
    transcript.client(b"AUTH LOGIN\r\n")
    transcript.server("334 VXNlcm5hbWU6")
    transcript.client(b"YWxpY2U=\r\n")
    transcript.server("334 UGFzc3dvcmQ6")
    transcript.client(b"*\r\n")
    transcript.server("501 aborted")
    transcript.client(b"NOOP\r\n")
    assert texts(transcript) == [
        "C: AUTH LOGIN",
        "S: 334 VXNlcm5hbWU6",
        f"C: {REDACTED}",
        "S: 334 UGFzc3dvcmQ6",
        "C: *",
        "S: 501 aborted",
        "C: NOOP",
    ]


def test_an_auth_initial_response_is_redacted_in_any_case() -> None:
    transcript = Transcript()
    transcript.client(b"auth plain AGFsaWNlAHNlY3JldA==\r\n")
    transcript.client(b"AUTH PLAIN\r\n")
    assert texts(transcript) == [f"C: auth plain {REDACTED}", "C: AUTH PLAIN"]


def test_over_long_lines_are_cut_and_the_session_is_bounded() -> None:
    transcript = Transcript(max_lines=3)
    transcript.client(b"NOOP " + b"x" * 5000 + b"\r\n")
    assert transcript.lines[0].text.endswith("(5005 chars)")
    for _ in range(5):
        transcript.server("250 OK")
    assert len(transcript.lines) == 3
    assert transcript.omitted_lines == 3


def test_ending_in_the_middle_of_data_says_so() -> None:
    transcript = Transcript()
    transcript.server("354 go ahead")
    transcript.note("connection dropped")
    transcript.end()
    transcript.end()  # idempotent
    assert transcript.lines[-1].text == "<message data, unfinished>"
    assert transcript.ended is not None


def test_to_dict_is_plain_data() -> None:
    transcript = Transcript(peer="127.0.0.1:1", session_id="smtp-x")
    transcript.server("220 hello")
    transcript.note("fault")
    data = transcript.to_dict()
    assert data["session_id"] == "smtp-x"
    assert data["ended_at"] is None
    assert [(line["direction"], line["text"]) for line in data["lines"]] == [
        (Direction.SERVER.value, "220 hello"),
        (Direction.NOTE.value, "fault"),
    ]
