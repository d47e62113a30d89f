"""Settlement ledger: double entry, append only, hash chained, with signed checkpoints.

Pure domain, no I/O, no clock: the edge stores entries, this module decides what they are.

Entries
    Every entry has at least two legs; a leg moves an integer number of fen (分) on one side only
    (``debit_fen`` or ``credit_fen`` positive, the other 0) and the debits equal the credits. A
    posted entry is never changed: a mistake is undone by posting its :func:`reversal_of` (same
    legs, sides swapped, ``reverses`` naming the original). An account's balance is credits minus
    debits; ``period`` is the accounting month ``YYYY-MM`` (:func:`period_of` uses China time,
    UTC+8, which has had no daylight saving since 1991).

Hash chain — how anyone recomputes ``Entry.hash`` in any language
    1. Take every field of the entry except ``hash``, as a JSON object with exactly these keys::

           seq          integer (1, 2, 3, … without gaps)
           entry_id     string
           kind         string
           reference    string
           period       string "YYYY-MM"
           legs         array, in the entry's order, of {"account": string,
                        "credit_fen": integer, "debit_fen": integer}
           memo         string
           occurred_at  string, UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always 6 fraction digits)
           posted_at    string, same format
           reverses     string, or null when the entry reverses nothing
           prev_hash    string, 64 lower-case hex digits

    2. Serialise it canonically: keys sorted (at every level) by code point, no whitespace at all
       (``,`` and ``:`` as separators), integers in plain decimal, non-ASCII characters written
       as themselves (not ``\\u`` escapes), only ``"`` ``\\`` and control characters below U+0020
       escaped (``\\n`` ``\\r`` ``\\t`` ``\\b`` ``\\f``, others as ``\\u00xx``), then UTF-8 encode.
       In Python: ``json.dumps(fields, sort_keys=True, separators=(",", ":"),
       ensure_ascii=False).encode("utf-8")``.
    3. ``hash = lower-case hex SHA-256 of (prev_hash as ASCII bytes ‖ the canonical bytes)``.

    The first entry has ``seq`` 1 and ``prev_hash`` = :data:`GENESIS` (64 zeros); entry n + 1 has
    ``prev_hash`` = hash of entry n. :func:`verify_chain` checks sequence, links, hashes and
    balance in one streaming pass and names the first entry that fails.

Checkpoints
    A checkpoint commits to the head of the chain: ``seq``, ``head_hash``, ``entries`` (== seq),
    ``signed_at`` (same time format) and ``key_id``, serialised with the canonical JSON above (keys
    ``entries``, ``head_hash``, ``key_id``, ``seq``, ``signed_at``) and signed with Ed25519
    (RFC 8032); ``signature`` is the 64-byte signature in standard base64 with padding. Published
    checkpoints let a verifier holding only the public key detect a rewritten history, even one
    whose hashes were all recomputed. ``key_id`` is :func:`key_fingerprint` of the signing key; a
    verifier pins a key ring (:func:`load_key_ring`: every key the operator has announced) and checks
    each checkpoint with the pinned key its ``key_id`` names (:func:`checkpoint_fault`), never with a
    key that travels beside the checkpoint.

Postings
    Balances, statements and netting read a posting table: one row per leg (``seq``, ``leg_no``
    from 1, ``account``, ``period``, ``debit_fen``, ``credit_fen``). Postings are *derived* from the
    hashed entry (:func:`postings_of`), so the hash format above is unchanged and the chain covers
    them by construction; :func:`posting_faults` names every stored posting that is edited, missing
    or derived from no entry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .errors import DomainError

GENESIS = "0" * 64
ACCOUNTING_TZ = timezone(timedelta(hours=8), "CST")
PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
HASH = re.compile(r"^[0-9a-f]{64}$")


class LedgerError(DomainError):
    """A draft, an entry, a key or a checkpoint is invalid; names the offending field."""


@dataclass(frozen=True)
class Leg:
    """One side of an entry on one account; exactly one of debit and credit is positive."""

    account: str
    debit_fen: int = 0
    credit_fen: int = 0


@dataclass(frozen=True)
class EntryDraft:
    """An entry as proposed, before it gets a sequence number, id and hash."""

    kind: str
    reference: str
    period: str
    legs: tuple[Leg, ...]
    memo: str
    occurred_at: datetime


@dataclass(frozen=True)
class Entry:
    """A posted, hash-chained ledger entry."""

    seq: int
    entry_id: str
    kind: str
    reference: str
    period: str
    legs: tuple[Leg, ...]
    memo: str
    occurred_at: datetime
    posted_at: datetime
    reverses: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain verification: entries that passed, the head, the first break."""

    ok: bool
    checked: int
    head_hash: str
    first_broken_seq: int | None
    reason: str | None


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain had ``entries`` entries ending in ``head_hash``."""

    seq: int
    head_hash: str
    entries: int
    signed_at: datetime
    key_id: str
    signature: str


@dataclass(frozen=True)
class Posting:
    """One leg of an entry as the posting table holds it (what balances are summed from)."""

    seq: int
    leg_no: int
    account: str
    period: str
    debit_fen: int
    credit_fen: int


@dataclass(frozen=True)
class StatementLine:
    """One entry's effect on the account of a statement."""

    seq: int
    entry_id: str
    kind: str
    reference: str
    occurred_at: datetime
    debit_fen: int
    credit_fen: int
    memo: str


@dataclass(frozen=True)
class Statement:
    """An account's movements in one period, with opening and closing balances (credit − debit)."""

    account: str
    period: str
    opening_fen: int
    lines: tuple[StatementLine, ...]
    debits_fen: int
    credits_fen: int
    closing_fen: int


# --- validation -----------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    """True for an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _require_text(value: object, field: str) -> str:
    """A non-empty string, else LedgerError."""
    if not isinstance(value, str) or not value.strip():
        raise LedgerError(field, "must be a non-empty string")
    return value


def _require_aware(value: object, field: str) -> datetime:
    """A timezone-aware datetime, else LedgerError."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise LedgerError(field, "must be a timezone-aware datetime")
    return value


def validate_period(period: object, field: str = "period") -> str:
    """The period if it is ``YYYY-MM``, else LedgerError."""
    if not isinstance(period, str) or not PERIOD.match(period):
        raise LedgerError(field, f"must be YYYY-MM, got {period!r}")
    return period


def period_of(at: datetime) -> str:
    """The accounting month (China time) of an aware datetime, as ``YYYY-MM``."""
    _require_aware(at, "at")
    return at.astimezone(ACCOUNTING_TZ).strftime("%Y-%m")


def _validate_legs(legs: object) -> None:
    """LedgerError unless there are ≥ 2 one-sided legs whose debits equal their credits (> 0)."""
    if not isinstance(legs, tuple):
        raise LedgerError("legs", "must be a tuple of Leg")
    if len(legs) < 2:
        raise LedgerError("legs", f"an entry needs at least 2 legs, got {len(legs)}")
    debits = credits = 0
    for index, leg in enumerate(legs):
        where = f"legs[{index}]"
        if not isinstance(leg, Leg):
            raise LedgerError(where, "must be a Leg")
        _require_text(leg.account, f"{where}.account")
        if not _is_int(leg.debit_fen) or not _is_int(leg.credit_fen):
            raise LedgerError(where, "amounts must be integer fen")
        if leg.debit_fen < 0 or leg.credit_fen < 0:
            raise LedgerError(where, "amounts must not be negative")
        if (leg.debit_fen > 0) == (leg.credit_fen > 0):
            raise LedgerError(where, "exactly one of debit_fen and credit_fen must be positive")
        debits += leg.debit_fen
        credits += leg.credit_fen
    if debits != credits:
        raise LedgerError("legs", f"unbalanced: debits {debits} ≠ credits {credits}")


def validate_draft(d: EntryDraft) -> None:
    """LedgerError unless the draft is balanced, one-sided per leg, dated and referenced."""
    _require_text(d.kind, "kind")
    _require_text(d.reference, "reference")
    validate_period(d.period)
    if not isinstance(d.memo, str):
        raise LedgerError("memo", "must be a string")
    _require_aware(d.occurred_at, "occurred_at")
    _validate_legs(d.legs)


# --- canonical form and hashing ---------------------------------------------------------------


def format_time(at: datetime) -> str:
    """An aware datetime as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    _require_aware(at, "time")
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _jsonable(value: Any) -> Any:
    """The canonical JSON form of a field value (floats refused)."""
    if value is None or isinstance(value, str | bool):
        return value
    if _is_int(value):
        return value
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Leg):
        return {
            "account": value.account,
            "credit_fen": value.credit_fen,
            "debit_fen": value.debit_fen,
        }
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    raise LedgerError("fields", f"{type(value).__name__} has no canonical form")


def entry_fields(entry: Entry) -> dict[str, Any]:
    """Every field of an entry except ``hash``, as the mapping that gets hashed."""
    return {
        "seq": entry.seq,
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "reference": entry.reference,
        "period": entry.period,
        "legs": entry.legs,
        "memo": entry.memo,
        "occurred_at": entry.occurred_at,
        "posted_at": entry.posted_at,
        "reverses": entry.reverses,
        "prev_hash": entry.prev_hash,
    }


def canonical_bytes(fields: Mapping[str, Any] | Entry) -> bytes:
    """Canonical UTF-8 JSON of a mapping (or of an entry's fields except ``hash``)."""
    mapping = entry_fields(fields) if isinstance(fields, Entry) else fields
    text = json.dumps(
        _jsonable(mapping), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise LedgerError("fields", "text must be valid Unicode (no lone surrogates)") from None


def entry_hash(prev_hash: str, fields: Mapping[str, Any] | Entry) -> str:
    """SHA-256 hex of ``prev_hash`` (ASCII) followed by the canonical bytes of the fields."""
    if not isinstance(prev_hash, str) or not HASH.match(prev_hash):
        raise LedgerError("prev_hash", "must be 64 lower-case hex digits")
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(fields)).hexdigest()


# --- posting --------------------------------------------------------------------------------


def post(
    prev: Entry | None,
    draft: EntryDraft,
    entry_id: str,
    posted_at: datetime,
    reverses: str | None = None,
) -> Entry:
    """The entry that follows ``prev`` (or starts the chain) for a valid draft."""
    validate_draft(draft)
    _require_text(entry_id, "entry_id")
    _require_aware(posted_at, "posted_at")
    if reverses is not None:
        _require_text(reverses, "reverses")
    unhashed = Entry(
        seq=prev.seq + 1 if prev is not None else 1,
        entry_id=entry_id,
        kind=draft.kind,
        reference=draft.reference,
        period=draft.period,
        legs=tuple(draft.legs),
        memo=draft.memo,
        occurred_at=draft.occurred_at,
        posted_at=posted_at,
        reverses=reverses,
        prev_hash=prev.hash if prev is not None else GENESIS,
        hash="",
    )
    return replace(unhashed, hash=entry_hash(unhashed.prev_hash, unhashed))


def reversal_of(
    entry: Entry, reason: str, occurred_at: datetime, *, period: str | None = None
) -> EntryDraft:
    """A draft undoing ``entry``: its legs, sides swapped, in its period unless told otherwise."""
    _require_text(reason, "reason")
    _require_aware(occurred_at, "occurred_at")
    if period is not None:
        validate_period(period)
    return EntryDraft(
        kind="reversal",
        reference=f"reversal:{entry.entry_id}",
        period=period if period is not None else entry.period,
        legs=tuple(
            Leg(account=leg.account, debit_fen=leg.credit_fen, credit_fen=leg.debit_fen)
            for leg in entry.legs
        ),
        memo=f"reversal of {entry.entry_id} ({entry.kind} {entry.reference}): {reason}",
        occurred_at=occurred_at,
    )


# --- verification -----------------------------------------------------------------------------


def _first_fault(entry: Entry, expected_seq: int, head: str) -> str | None:
    """Why this entry breaks the chain at this point, or None when it does not."""
    if not isinstance(entry, Entry):
        return f"not an Entry: {type(entry).__name__}"
    if entry.seq != expected_seq:
        if _is_int(entry.seq) and entry.seq < expected_seq:
            return f"seq repeats or goes back: expected {expected_seq}, found {entry.seq}"
        return f"seq gap: expected {expected_seq}, found {entry.seq}"
    if entry.prev_hash != head:
        return f"broken link: prev_hash {entry.prev_hash} is not the previous hash {head}"
    try:
        recomputed = entry_hash(entry.prev_hash, entry)
    except LedgerError as err:
        return f"malformed: {err}"
    if recomputed != entry.hash:
        return f"altered: stored hash {entry.hash} differs from recomputed {recomputed}"
    try:
        _validate_legs(entry.legs)
    except LedgerError as err:
        return f"invalid legs: {err}"
    return None


def verify_chain(
    entries: Iterable[Entry], expected_prev: str = GENESIS, expected_first_seq: int = 1
) -> VerifyResult:
    """Check seq continuity, links, hashes and balance in one pass; report the first break.

    ``first_broken_seq`` is the seq stored in the first entry that fails (for a gap, the entry
    after it; for a repeat, the repeated seq) and ``reason`` says what failed and what was
    expected. ``checked`` counts the entries that passed and ``head_hash`` is the hash of the
    last of them (``expected_prev`` if none did); to verify a segment, pass the head and the next
    seq of the part already verified (e.g. from a checkpoint).
    """
    head, expected_seq, checked = expected_prev, expected_first_seq, 0
    for entry in entries:
        fault = _first_fault(entry, expected_seq, head)
        if fault is not None:
            seq = entry.seq if isinstance(entry, Entry) and _is_int(entry.seq) else expected_seq
            return VerifyResult(False, checked, head, seq, fault)
        head, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    return VerifyResult(True, checked, head, None, None)


# --- postings -------------------------------------------------------------------------------


def postings_of(entry: Entry) -> tuple[Posting, ...]:
    """The postings an entry stands for: one per leg, numbered from 1, in the entry's period."""
    return tuple(
        Posting(entry.seq, n, leg.account, entry.period, leg.debit_fen, leg.credit_fen)
        for n, leg in enumerate(entry.legs, 1)
    )


def posting_faults(
    entries: Iterable[Entry], stored: Iterable[Posting], limit: int = 100
) -> list[dict[str, Any]]:
    """Stored postings that differ from the entries' legs: edited, missing, or of no leg at all.

    ``stored`` must be every posting whose ``seq`` lies in the range the entries were read from, so
    that a posting left behind by a deleted entry, or added to an entry, is found. At most ``limit``
    faults are returned, in (seq, leg_no) order.
    """
    expected = {(p.seq, p.leg_no): p for e in entries for p in postings_of(e)}
    actual: dict[tuple[int, int], Posting] = {}
    faults: list[dict[str, Any]] = []
    for p in stored:
        key = (p.seq, p.leg_no)
        if key in actual:
            faults.append({"seq": p.seq, "leg_no": p.leg_no, "reason": "posting repeated"})
        actual[key] = p
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key), actual.get(key)
        if want == got:
            continue
        if got is None:
            reason = "missing: the entry has this leg but no posting"
        elif want is None:
            reason = "inserted: no entry has this leg"
        else:
            fields = [f for f in ("account", "period", "debit_fen", "credit_fen")
                      if getattr(want, f) != getattr(got, f)]
            reason = "edited: " + ", ".join(
                f"{f} {getattr(got, f)!r} differs from the entry's {getattr(want, f)!r}" for f in fields)
        faults.append({"seq": key[0], "leg_no": key[1], "reason": reason})
    faults.sort(key=lambda f: (f["seq"], f["leg_no"]))
    return faults[:limit]


# --- checkpoints and keys -----------------------------------------------------------------------


def _checkpoint_bytes(
    seq: int, head_hash: str, entries: int, signed_at: datetime, key_id: str
) -> bytes:
    """Canonical bytes a checkpoint signature covers."""
    return canonical_bytes(
        {
            "seq": seq,
            "head_hash": head_hash,
            "entries": entries,
            "signed_at": signed_at,
            "key_id": key_id,
        }
    )


def sign_checkpoint(
    private_key: Ed25519PrivateKey, key_id: str, seq: int, head_hash: str, signed_at: datetime
) -> Checkpoint:
    """A checkpoint over the chain head at ``seq``, signed with Ed25519."""
    if not isinstance(private_key, Ed25519PrivateKey):
        raise LedgerError("private_key", "must be an Ed25519 private key")
    _require_text(key_id, "key_id")
    if not _is_int(seq) or seq < 0:
        raise LedgerError("seq", f"must be a non-negative integer, got {seq!r}")
    if not isinstance(head_hash, str) or not HASH.match(head_hash):
        raise LedgerError("head_hash", "must be 64 lower-case hex digits")
    if seq == 0 and head_hash != GENESIS:
        raise LedgerError("head_hash", "an empty chain's head is GENESIS")
    _require_aware(signed_at, "signed_at")
    signature = private_key.sign(_checkpoint_bytes(seq, head_hash, seq, signed_at, key_id))
    return Checkpoint(
        seq=seq,
        head_hash=head_hash,
        entries=seq,
        signed_at=signed_at,
        key_id=key_id,
        signature=base64.b64encode(signature).decode("ascii"),
    )


def verify_checkpoint(public_key: Ed25519PublicKey, cp: Checkpoint) -> bool:
    """True when the signature is valid for the checkpoint's fields and ``entries == seq``."""
    if not isinstance(public_key, Ed25519PublicKey) or cp.entries != cp.seq:
        return False
    try:
        signature = base64.b64decode(cp.signature, validate=True)
        public_key.verify(
            signature, _checkpoint_bytes(cp.seq, cp.head_hash, cp.entries, cp.signed_at, cp.key_id)
        )
    except (InvalidSignature, binascii.Error, LedgerError, TypeError, ValueError):
        return False
    return True


def generate_signing_key() -> Ed25519PrivateKey:
    """A new Ed25519 key for signing checkpoints."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(private_key: Ed25519PrivateKey) -> str:
    """The private key as unencrypted PKCS#8 PEM (store it as a secret)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key_pem(pem: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from unencrypted PKCS#8 PEM, else LedgerError."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise LedgerError("private_key", f"not a readable PEM private key: {err}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError("private_key", "must be an Ed25519 key")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The (matching) public key as SubjectPublicKeyInfo PEM (publish it to verifiers)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key_pem(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from SubjectPublicKeyInfo PEM, else LedgerError."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise LedgerError("public_key", f"not a readable PEM public key: {err}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerError("public_key", "must be an Ed25519 key")
    return key


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """A stable key id: ``ed25519:`` and the first 16 hex digits of SHA-256 of the raw key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


KeyRing = Mapping[str, Ed25519PublicKey]


def load_key_ring(*pems: str | bytes) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in the PEM texts (each may hold several blocks), by key id."""
    ring: dict[str, Ed25519PublicKey] = {}
    for pem in pems:
        text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
        blocks = re.findall(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", text, re.S)
        if not blocks:
            raise LedgerError("public_key", "no PEM public key block (-----BEGIN PUBLIC KEY-----) found")
        for block in blocks:
            key = load_public_key_pem(block)
            ring[key_fingerprint(key)] = key
    return ring


def checkpoint_fault(ring: KeyRing, cp: Checkpoint) -> str | None:
    """Why a checkpoint fails against the pinned keys (chosen by its ``key_id``), or None if it verifies."""
    key = ring.get(cp.key_id)
    if key is None:
        return f"signed with key {cp.key_id!r}, which is not a pinned key"
    if not verify_checkpoint(key, cp):
        return "signature does not verify with the pinned key"
    return None


# --- balances and statements ------------------------------------------------------------------


def balances(entries: Iterable[Entry | EntryDraft]) -> dict[str, int]:
    """Credit minus debit per account over the entries (accounts that appear, even at 0)."""
    result: dict[str, int] = {}
    for entry in entries:
        for leg in entry.legs:
            result[leg.account] = result.get(leg.account, 0) + leg.credit_fen - leg.debit_fen
    return result


def statement(entries: Iterable[Entry], account: str, period: str) -> Statement:
    """An account's statement for a period: opening from earlier periods, the period's lines."""
    _require_text(account, "account")
    validate_period(period)
    opening = 0
    lines: list[StatementLine] = []
    for entry in entries:
        legs = [leg for leg in entry.legs if leg.account == account]
        if not legs or entry.period > period:
            continue
        debit = sum(leg.debit_fen for leg in legs)
        credit = sum(leg.credit_fen for leg in legs)
        if entry.period < period:
            opening += credit - debit
            continue
        lines.append(
            StatementLine(
                seq=entry.seq,
                entry_id=entry.entry_id,
                kind=entry.kind,
                reference=entry.reference,
                occurred_at=entry.occurred_at,
                debit_fen=debit,
                credit_fen=credit,
                memo=entry.memo,
            )
        )
    lines.sort(key=lambda line: line.seq)
    debits = sum(line.debit_fen for line in lines)
    credits = sum(line.credit_fen for line in lines)
    return Statement(
        account=account,
        period=period,
        opening_fen=opening,
        lines=tuple(lines),
        debits_fen=debits,
        credits_fen=credits,
        closing_fen=opening + credits - debits,
    )
