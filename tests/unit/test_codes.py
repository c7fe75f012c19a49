"""``otp_flow.codes``: what counts as a code before anything is compared."""

from __future__ import annotations

import pytest

from otp_flow import codes


@pytest.mark.parametrize(
    ("raw", "value"),
    [("123456", "123456"), (" 123 456 ", "123456"), ("\t000000", "000000")],
)
def test_six_ascii_digits_with_spaces_removed_are_a_totp_code(raw, value):
    assert codes.canonical_code(raw) == codes.Code(codes.TOTP, value)


@pytest.mark.parametrize(
    "raw",
    [
        "١٢٣٤٥٦",  # Arabic-Indic digits: int() and \\d accept them
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth digits
        "12345",
        "1234567",
        "12345a",
        "+12345",
        "-12345",
        "12_345",
        "1e5000",
        "",
        " ",
        "1" * 65,
        None,
        123456,
        b"123456",
        ["123456"],
    ],
)
def test_anything_else_is_not_a_totp_code(raw):
    assert codes.canonical_totp(raw) is None


def test_a_backup_code_is_read_as_people_type_it():
    made = codes.new_backup_code()
    shown = codes.format_backup_code(made)
    assert shown.count("-") == 3
    for typed in (shown, shown.upper(), shown.replace("-", " "), made):
        assert codes.canonical_code(typed) == codes.Code(codes.BACKUP, made)


def test_lookalike_letters_in_a_backup_code_read_as_digits():
    assert codes.canonical_backup("o1il-0000-0000-0000") == "0111000000000000"


@pytest.mark.parametrize(
    "raw",
    [
        "abcd-efgh-jkmn-pqr",  # too short
        "abcd-efgh-jkmn-pqrst",  # too long
        "abcd-efgh-jkmn-pqru",  # u is not in the alphabet
        "\u212abcd-efgh-jkmn-pqrs",  # Kelvin sign lowers to "k"
        "abcd_efgh_jkmn_pqrs",
    ],
)
def test_malformed_backup_codes_are_refused(raw):
    assert codes.canonical_backup(raw) is None


def test_backup_codes_are_not_taken_where_only_totp_is():
    assert codes.canonical_code(codes.new_backup_code(), backup=False) is None


def test_backup_codes_carry_80_bits():
    assert len(codes.BACKUP_ALPHABET) ** codes.BACKUP_LENGTH == 2**80
