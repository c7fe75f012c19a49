"""``trust.tokens``: device secrets, their hashes, the cookie that carries them."""

from __future__ import annotations

import hashlib

import pytest

from trust.rules import tokens


def test_a_secret_is_256_random_bits_in_cookie_safe_text():
    made = {tokens.new_secret() for _ in range(200)}
    assert len(made) == 200
    for secret in made:
        assert len(secret) == 43
        assert tokens.parse_cookie(secret, 5) == [secret]


def test_the_stored_hash_is_sha256_of_the_secret():
    secret = tokens.new_secret()
    assert tokens.hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert tokens.hash_secret(secret) != tokens.hash_secret(tokens.new_secret())


def test_a_cookie_round_trips_newest_first_up_to_the_limit():
    secrets = [tokens.new_secret() for _ in range(4)]
    cookie = tokens.build_cookie(secrets, 3)
    assert tokens.parse_cookie(cookie, 3) == secrets[:3]
    assert tokens.parse_cookie(cookie, 2) == secrets[:2]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        ".",
        "x" * 42,
        "x" * 44,
        "é" * 43,
        "a" * 42 + "\x00",
        "A" * 42 + "=",
        "\u0661" * 43,  # non-ASCII digits
        ("A" * 43 + ".") * 200,  # over the cookie length limit
    ],
    ids=[
        "none",
        "empty",
        "separator",
        "short",
        "long",
        "non-ascii",
        "nul",
        "padding",
        "arabic-digits",
        "huge",
    ],
)
def test_a_garbled_cookie_means_no_trust_never_an_error(value):
    assert tokens.parse_cookie(value, 5) == []


def test_duplicates_and_garbage_between_secrets_are_dropped():
    good = tokens.new_secret()
    other = tokens.new_secret()
    assert tokens.parse_cookie(f"junk.{good}.{good}..{other}", 5) == [good, other]


def test_only_the_old_secret_unwraps_its_successor():
    old, new = tokens.new_secret(), tokens.new_secret()
    wrapped = tokens.wrap_successor(old, new)
    assert tokens.unwrap_successor(old, wrapped) == new
    assert tokens.unwrap_successor(tokens.new_secret(), wrapped) != new
    assert new not in wrapped and old not in wrapped
    assert wrapped != tokens.wrap_successor(tokens.new_secret(), new)  # a pad per old secret


@pytest.mark.parametrize(
    "wrapped",
    ["", "zz", "00" * 31, "00" * 33, "é" * 64],
    ids=["empty", "not-hex", "short", "long", "non-ascii"],
)
def test_a_malformed_wrapped_successor_unwraps_to_nothing(wrapped):
    assert tokens.unwrap_successor(tokens.new_secret(), wrapped) is None
