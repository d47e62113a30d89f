"""Resident ID and phone numbers for the master patient index: normalise, validate, hash, mask. Pure, no I/O.

A resident ID number (居民身份证号码, GB 11643-1999) is never stored in clear: the index keeps an
HMAC-SHA256 of it (the deterministic lookup key) and a masked form for display. Phone numbers
likewise. Hashes are keyed, so a leaked table cannot be reversed by enumerating the ID space
without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date
from enum import StrEnum

CHECKSUM_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_YEAR = 1880           # anyone alive when 18-digit numbers were introduced (1999)
MIN_KEY_BYTES = 32

_ID18 = re.compile(r"^[1-9]\d{16}[\dX]$")
_ID15 = re.compile(r"^[1-9]\d{14}$")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ASCII_DIGITS = frozenset("0123456789")
MIN_PHONE_DIGITS = 7
# Numbers front desks type when the patient has none; equal hashes of these would look like strong evidence.
PLACEHOLDER_PHONES = frozenset({"12345678901", "01234567890", "13800138000", "1234567", "12345678"})


class IdentifierKind(StrEnum):
    """The identifier kinds the index hashes; the kind is part of the hashed text (domain separation)."""

    NATIONAL_ID = "national_id"
    PHONE = "phone"
    INSURANCE_NUMBER = "insurance_number"


def normalise_national_id(raw: str | None) -> str | None:
    """Full-width to ASCII (NFKC), drop all whitespace, uppercase the X; None when nothing is left."""
    if raw is None:
        return None
    value = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    return value or None


def resident_id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    if len(first17) != 17 or not set(first17) <= _ASCII_DIGITS:
        raise ValueError("need exactly 17 ASCII digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, CHECKSUM_WEIGHTS, strict=True)) % 11]


def _embedded_birth_date(value: str) -> date | None:
    digits = value[6:14] if len(value) == 18 else "19" + value[6:12]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def resident_id_birth_date(raw: str | None) -> date | None:
    """The birth date encoded in an 18- or 15-digit ID (digits 7-14, or 7-12 as 19YYMMDD); None if absent."""
    value = normalise_national_id(raw)
    if value is None or not (_ID18.match(value) or _ID15.match(value)):
        return None
    return _embedded_birth_date(value)


def is_valid_resident_id(id18: str | None, *, today: date | None = None) -> bool:
    """18 digits with a correct check character, or 15 legacy digits; the encoded birth date must be plausible."""
    value = normalise_national_id(id18)
    if value is None:
        return False
    if _ID18.match(value):
        if resident_id_check_char(value[:17]) != value[17]:
            return False
    elif not _ID15.match(value):
        return False
    born = _embedded_birth_date(value)
    return born is not None and born.year >= EARLIEST_BIRTH_YEAR and (today is None or born <= today)


def upgrade_resident_id(id15: str) -> str:
    """The 18-digit form of a 15-digit legacy ID: insert the century 19, append the check character."""
    value = normalise_national_id(id15) or ""
    if not _ID15.match(value):
        raise ValueError("not a 15-digit resident ID")
    first17 = value[:6] + "19" + value[6:]
    return first17 + resident_id_check_char(first17)


def canonical_resident_id(raw: str | None) -> str | None:
    """Normalised ID, with a valid 15-digit ID upgraded to 18 digits so both forms hash alike."""
    value = normalise_national_id(raw)
    if value is not None and len(value) == 15 and is_valid_resident_id(value):
        return upgrade_resident_id(value)
    return value


def _phone_digits(raw: str | None) -> str:
    if raw is None:
        return ""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", raw) if ch in _ASCII_DIGITS)
    if digits.startswith("0086") and len(digits) == 15:
        return digits[4:]
    if digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        return digits[2:]
    return digits


def normalise_phone(raw: str | None) -> str | None:
    """ASCII digits only, +86/0086 dropped from mobiles; None when empty, too short or a placeholder."""
    digits = _phone_digits(raw)
    if len(digits) < MIN_PHONE_DIGITS or len(set(digits)) == 1 or digits in PLACEHOLDER_PHONES:
        return None
    return digits


def normalise_identifier(kind: str, value: str | None) -> str | None:
    """The form of `value` that is hashed for `kind`; None when nothing usable is left."""
    if kind == IdentifierKind.NATIONAL_ID:
        return canonical_resident_id(value)
    if kind == IdentifierKind.PHONE:
        return normalise_phone(value)
    if value is None:
        return None
    return unicodedata.normalize("NFKC", value).strip() or None


def mask_national_id(value: str) -> str:
    """First 6 and last 4 characters kept, the rest `*` (110105********002X); short values fully masked."""
    normalised = normalise_national_id(value) or ""
    if len(normalised) <= 10:
        return "*" * len(normalised)
    return normalised[:6] + "*" * (len(normalised) - 10) + normalised[-4:]


def mask_phone(value: str) -> str:
    """First 3 and last 4 digits kept, the rest `*` (138****5678); short values fully masked."""
    digits = _phone_digits(value)
    if len(digits) < MIN_PHONE_DIGITS:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


class IdentifierProtector:
    """Keyed hashing (HMAC-SHA256) and masking of identifiers; the key is never shown."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise TypeError("the identifier key must be bytes")
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the identifier key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "IdentifierProtector(key=<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("IdentifierProtector holds a secret key and cannot be pickled")

    def hash(self, kind: str, value: str) -> str:
        """Hex HMAC-SHA256 of `kind:normalised value`; ValueError when the value normalises to nothing."""
        if not _KIND.match(kind):
            raise ValueError("kind must be lowercase letters, digits and '_' (no ':')")
        normalised = normalise_identifier(kind, value)
        if normalised is None:
            raise ValueError(f"no usable {kind} value to hash")
        return hmac.new(self._key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()

    def mask_national_id(self, value: str) -> str:
        """See `mask_national_id`."""
        return mask_national_id(value)

    def mask_phone(self, value: str) -> str:
        """See `mask_phone`."""
        return mask_phone(value)
