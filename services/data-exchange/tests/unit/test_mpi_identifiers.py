"""Resident ID validation, normalisation, keyed hashing and masking (synthetic numbers only)."""

import copy
from datetime import date

import pytest

from data_exchange.domain.mpi import (
    IdentifierProtector,
    canonical_resident_id,
    is_valid_resident_id,
    mask_national_id,
    mask_phone,
    normalise_national_id,
    normalise_phone,
    resident_id_birth_date,
    resident_id_check_char,
    upgrade_resident_id,
)

KEY = b"synthetic-test-key-0123456789abcdef"
OTHER_KEY = b"another-synthetic-key-0123456789ab"

# Check characters computed by hand from the GB 11643-1999 weights; the first two are the standard's own samples.
VALID_IDS = [
    "11010519491231002X",
    "440524188001010014",
    "33012219900101123X",
    "320106198503154568",
    "650102197807073210",
]


def test_normalise_national_id_strips_spaces_uppercases_x_and_converts_full_width_digits():
    assert normalise_national_id("  １１０１０５ 19491231 002x ") == "11010519491231002X"


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_normalise_national_id_returns_none_when_nothing_is_left(raw):
    assert normalise_national_id(raw) is None


@pytest.mark.parametrize("value", VALID_IDS)
def test_eighteen_digit_ids_with_the_right_check_character_are_valid(value):
    assert is_valid_resident_id(value)
    assert resident_id_check_char(value[:17]) == value[17]


def test_validation_accepts_the_id_as_typed_with_a_lowercase_x_and_full_width_digits():
    assert is_valid_resident_id("１１０１０５１９４９１２３１００２ｘ")


@pytest.mark.parametrize("value, why", [
    ("110105194912310021", "wrong check character"),
    ("11010519491231003X", "one digit changed"),
    ("11010519491231020X", "two adjacent digits swapped"),
    ("110105194902310026", "February 31st, though the checksum is right"),
    ("330122202613010013", "month 13"),
    ("440524187901010015", "born before 1880, though the checksum is right"),
    ("01010519491231002X", "leading zero"),
    ("11010519491231002", "17 characters"),
    ("1101051949123100XX", "X before the last place"),
    ("", "empty"),
    (None, "missing"),
])
def test_ids_that_break_a_rule_are_invalid(value, why):
    assert not is_valid_resident_id(value), why


def test_a_birth_date_after_today_is_invalid_only_when_today_is_given():
    born_2027 = "330122202701010013"
    assert is_valid_resident_id(born_2027)
    assert not is_valid_resident_id(born_2027, today=date(2026, 11, 23))
    assert is_valid_resident_id(born_2027, today=date(2027, 1, 1))


def test_fifteen_digit_legacy_ids_are_valid_by_format_without_a_checksum():
    assert is_valid_resident_id("110105491231002")
    assert is_valid_resident_id("110105491231009")
    assert not is_valid_resident_id("110105490231002")   # 1949-02-31
    assert not is_valid_resident_id("11010549123100X")


def test_a_fifteen_digit_id_upgrades_to_its_eighteen_digit_form():
    assert upgrade_resident_id("110105491231002") == "11010519491231002X"
    assert canonical_resident_id("110105491231002") == "11010519491231002X"
    with pytest.raises(ValueError):
        upgrade_resident_id("11010519491231002X")


def test_the_birth_date_is_read_from_both_id_lengths():
    assert resident_id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert resident_id_birth_date("110105491231002") == date(1949, 12, 31)
    assert resident_id_birth_date("not an id") is None


def test_the_check_character_needs_exactly_seventeen_digits():
    with pytest.raises(ValueError):
        resident_id_check_char("1101051949123100")


def test_masking_a_national_id_keeps_the_first_six_and_last_four_characters():
    assert mask_national_id("11010519491231002x") == "110105********002X"
    assert mask_national_id("110105491231002") == "110105*****1002"
    assert mask_national_id("1234") == "****"


def test_masking_a_phone_keeps_the_first_three_and_last_four_digits():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone("0571-88123456") == "057*****3456"
    assert mask_phone("12345") == "*****"


def test_phones_normalise_to_digits_without_the_country_code():
    assert normalise_phone("+86 138 1234 5678") == "13812345678"
    assert normalise_phone("0086-13812345678") == "13812345678"
    assert normalise_phone("１３８１２３４５６７８") == "13812345678"
    assert normalise_phone("0571-88123456") == "057188123456"


@pytest.mark.parametrize("raw", [None, "", "无", "110", "00000000000", "13800138000", "12345678901"])
def test_empty_short_and_placeholder_phones_normalise_to_none(raw):
    assert normalise_phone(raw) is None


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 31])
def test_the_protector_refuses_keys_shorter_than_32_bytes(key):
    with pytest.raises(ValueError, match="32 bytes"):
        IdentifierProtector(key)


def test_the_protector_refuses_a_text_key():
    with pytest.raises(TypeError):
        IdentifierProtector("x" * 40)  # type: ignore[arg-type]


def test_hashing_is_deterministic_hex_sha256():
    protector = IdentifierProtector(KEY)
    digest = protector.hash("national_id", "11010519491231002X")
    assert digest == protector.hash("national_id", "11010519491231002X")
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_hashing_is_keyed_so_a_different_key_gives_a_different_hash():
    assert (IdentifierProtector(KEY).hash("national_id", "11010519491231002X")
            != IdentifierProtector(OTHER_KEY).hash("national_id", "11010519491231002X"))


def test_the_kind_is_part_of_the_hashed_text():
    protector = IdentifierProtector(KEY)
    assert protector.hash("phone", "13812345678") != protector.hash("insurance_number", "13812345678")


def test_hashing_normalises_first_so_every_spelling_of_one_id_hashes_alike():
    protector = IdentifierProtector(KEY)
    expected = protector.hash("national_id", "11010519491231002X")
    for spelling in ("11010519491231002x", " １１０１０５１９４９１２３１００２Ｘ ", "110105491231002"):
        assert protector.hash("national_id", spelling) == expected
    assert protector.hash("phone", "+86 138-1234-5678") == protector.hash("phone", "13812345678")


def test_hashing_refuses_empty_values_and_kinds_that_could_collide():
    protector = IdentifierProtector(KEY)
    with pytest.raises(ValueError):
        protector.hash("national_id", "  ")
    with pytest.raises(ValueError):
        protector.hash("phone:x", "13812345678")


def test_the_protector_never_shows_or_serialises_its_key():
    protector = IdentifierProtector(KEY)
    assert "synthetic" not in repr(protector)
    with pytest.raises(TypeError):
        copy.copy(protector)


def test_the_protector_masks_like_the_module_functions():
    protector = IdentifierProtector(KEY)
    assert protector.mask_national_id("11010519491231002X") == "110105********002X"
    assert protector.mask_phone("13812345678") == "138****5678"
