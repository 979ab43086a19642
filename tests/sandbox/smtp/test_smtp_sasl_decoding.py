"""SASL responses (PLAIN, LOGIN, XOAUTH2) decoded without sockets."""

from __future__ import annotations

import base64
import json

import pytest
from erpmail.sandbox.smtp.sasl import (
    AuthDecodeError,
    Credentials,
    decode_base64,
    parse_plain,
    parse_xoauth2,
    xoauth2_error_challenge,
)


def test_plain_splits_authzid_user_and_password() -> None:
    assert parse_plain(b"\0alice\0s3cret") == Credentials("PLAIN", "alice", "s3cret")
    assert parse_plain(b"admin\0alice\0s3cret").username == "alice"


@pytest.mark.parametrize("decoded", [b"alice\0s3cret", b"\0\0s3cret", b"a\0b\0c\0d"])
def test_plain_without_exactly_three_parts_and_a_user_is_refused(decoded: bytes) -> None:
    with pytest.raises(AuthDecodeError) as refused:
        parse_plain(decoded)
    assert not refused.value.bad_base64


def test_xoauth2_reads_user_and_bearer_token() -> None:
    decoded = b"user=alice@example.com\x01auth=Bearer ya29.token\x01\x01"
    assert parse_xoauth2(decoded) == Credentials("XOAUTH2", "alice@example.com", "ya29.token")


@pytest.mark.parametrize(
    "decoded",
    [b"user=alice\x01\x01", b"auth=Bearer t\x01\x01", b"user=a\x01auth=Basic t\x01\x01", b"junk"],
)
def test_xoauth2_without_user_or_bearer_token_is_refused(decoded: bytes) -> None:
    with pytest.raises(AuthDecodeError):
        parse_xoauth2(decoded)


def test_base64_must_be_strict() -> None:
    assert decode_base64("YWxpY2U=") == b"alice"
    assert decode_base64(b"=") == b""
    for bad in ("!!!", "YWxpY2U", "YW xp"):
        with pytest.raises(AuthDecodeError) as refused:
            decode_base64(bad)
        assert refused.value.bad_base64


def test_credentials_never_show_their_secret_in_a_repr() -> None:
    assert "s3cret" not in repr(Credentials("PLAIN", "alice", "s3cret"))


def test_the_xoauth2_error_challenge_is_base64_json() -> None:
    error = json.loads(base64.b64decode(xoauth2_error_challenge()))
    assert error["status"] == "401"
