"""Master patient index (EMPI): one alliance patient id per person across member hospitals. Pure, no I/O.

How a service uses it, per incoming PatientIdentity from hospital H:

1. ``incoming = IncomingIdentity.from_patient(identity, H, protector)`` - clear identifiers become
   keyed hashes + masks; an ID failing the checksum, or whose encoded birth date contradicts the
   sent birth date (typically a guardian's ID used for a newborn), is not used as an identifier.
2. Deterministic look-ups: ``by_mrn`` = patient already linked to (H, mrn); ``by_national_id`` =
   active patient holding ``incoming.national_id_hash``. Follow ``merged_into`` to the survivor first.
3. Candidates: patients sharing any of ``blocking_keys(incoming)`` (store ``blocking_keys(patient)``
   for every patient). Include the by_mrn / by_national_id patients too, so conflicts can be seen.
4. ``decide(incoming, by_national_id=..., by_mrn=..., candidates=...)`` -> MatchDecision.

Scoring is Fellegi-Sunter: per field, weight = log2(m/u) on agreement and log2((1-m)/(1-u)) on
disagreement, where m = P(outcome | same person) and u = P(outcome | different people); missing
data weighs 0. Defaults (MatchConfig), rounded:

    field       outcome    m      u       weight   note
    name        exact      0.90   1e-4    +13.0    u: full-name coincidence in a regional population
    name        partial    0.04   3e-4     +7.0    Jaro-Winkler >= 0.92 (see below)
    name        disagree   0.06   ~1       -4.0
    birth date  exact      0.95   5e-5    +14.0    ~90 birth years, uneven
    birth date  partial    0.03   4e-3     +3.0    one of y/m/d differs, or day/month transposed
    birth date  disagree   0.02   ~1       -5.5
    sex         agree      0.99   0.5      +1.0
    sex         disagree   0.01   0.5      -5.5    registration errors ~1%
    phone       agree      0.65   1e-5    +16.0    u not 1e-8: family members share, carriers recycle
    phone       disagree   0.35   ~1       -1.5    people change numbers or give a relative's
    national ID agree      -      -       +20.0    capped; an ID hit is deterministic anyway
    national ID disagree   0.001  ~1      -20.0    twice log2(0.001): no demographics can outvote it

Thresholds: with a prior of ~1 in 10 million that two records are the same person (2^-23.3),
total weight W gives posterior odds 2^(W - 23.3). ``auto_link_threshold`` 32 is ~400:1;
``review_threshold`` 22 is ~1:2.5 (worth a human look); the best candidate must also lead the
runner-up by ``margin`` 5 (32x) to be linked automatically. A false link mixes two people's records
(a patient-safety incident); a missed link is a duplicate an administrator can merge later, so
ambiguity goes to review, and weak evidence to a new patient. With the defaults:

    name      birth date  sex        phone      total  decision
    exact     exact       agree      agree       44.0  link
    partial   exact       agree      agree       38.0  link (typo in a long name)
    exact     partial     agree      agree       33.0  link (typo in the birth date)
    missing   exact       agree      agree       31.0  review
    exact     missing     agree      agree       30.0  review
    exact     exact       agree      missing     28.0  review (common names collide)
    disagree  exact       agree      agree       27.0  review (twins, or a typo in a short name)
    exact     exact       agree      differs     26.5  review
    exact     disagree    agree      agree       24.5  review
    exact     exact       disagrees  differs     20.0  new
    disagree  disagree    agree      agree        7.5  new (family members sharing a phone)
    + national IDs on both sides and different: -20 (all-agree 24.0 -> review, never an auto-link)

Jaro-Winkler on Chinese names: one wrong character in a 3-character name scores 0.82 and in a
2-character name 0.67, so ">= 0.92 partial" fires only for long names (transliterated, compound,
Latin script). A 2-3 character name that differs by one character is therefore "disagree", which
is deliberate: twins are often named exactly like that (张欣怡 / 张欣悦) and share birth date and
a parent's phone; that case lands in review instead of being linked.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from .clinical import PatientIdentity, Sex
from .mpi_identifiers import (
    CHECK_CHARS,
    CHECKSUM_WEIGHTS,
    IdentifierKind,
    IdentifierProtector,
    canonical_resident_id,
    is_valid_resident_id,
    mask_national_id,
    mask_phone,
    normalise_identifier,
    normalise_national_id,
    normalise_phone,
    resident_id_birth_date,
    resident_id_check_char,
    upgrade_resident_id,
)

__all__ = [
    "CHECK_CHARS", "CHECKSUM_WEIGHTS", "DEFAULT_CONFIG", "DEFAULT_PLACEHOLDER_NAMES", "Agreement",
    "AlliancePatient", "CandidateScore", "Comparison", "DecisionKind", "IdentifierKind",
    "IdentifierProtector", "IncomingIdentity", "InvalidIdentity", "Link", "LinkRefused", "MatchConfig",
    "MatchDecision", "MatchScore", "MergeRefused", "MpiError", "MpiEvent", "NationalIdStatus",
    "PatientCandidate", "PatientLinked", "PatientStatus", "PatientsMerged", "PatientsUnmerged",
    "UnmergeRefused", "blocking_keys", "canonical_resident_id", "compare_birth_dates", "compare_hashes",
    "compare_names", "compare_sex", "decide", "is_valid_resident_id", "jaro", "jaro_winkler",
    "mask_national_id", "mask_phone", "merge", "normalise_identifier", "normalise_name",
    "normalise_national_id", "normalise_phone", "resident_id_birth_date", "resident_id_check_char",
    "score", "unmerge", "upgrade_resident_id",
]

Link = tuple[str, str]                       # (hospital id, MRN)

# Names front desks register when the patient is unknown (normalised form); compared as missing.
DEFAULT_PLACEHOLDER_NAMES = frozenset({"无名氏", "未知", "不详", "匿名", "unknown", "anonymous"})
# Whitespace is dropped separately; these are the middle dots used in transliterated names (阿依古丽·买买提).
_NAME_SEPARATORS = frozenset("\u00b7\u0387\u2022\u2027\u2219\u22c5\u30fb\uff65.")


class MpiError(Exception):
    """Base of master-patient-index rule violations."""


class InvalidIdentity(MpiError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class _Refused(MpiError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class MergeRefused(_Refused):
    """An administrator merge that the rules forbid; `code` says which rule."""


class UnmergeRefused(_Refused):
    """An unmerge that does not fit the recorded merge; `code` says why."""


class LinkRefused(_Refused):
    """A link to a patient that cannot take one (merged)."""


class Agreement(StrEnum):
    AGREE = "agree"
    PARTIAL = "partial"
    DISAGREE = "disagree"
    MISSING = "missing"


class DecisionKind(StrEnum):
    """How an MRN came to be linked; values match PatientLinked.decision in the event contract."""

    LINK_EXISTING_MRN = "LINK_EXISTING_MRN"
    LINK_NATIONAL_ID = "LINK_NATIONAL_ID"
    LINK_PROBABILISTIC = "LINK_PROBABILISTIC"
    REVIEW = "REVIEW"
    NEW = "NEW"
    ADMIN = "ADMIN"                          # never returned by decide: a reviewer's or administrator's link


class NationalIdStatus(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"                      # fails the checksum or the format: not used
    BIRTH_DATE_MISMATCH = "birth_date_mismatch"   # encoded birth date contradicts the sent one: not used


class PatientStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"


@dataclass(frozen=True)
class MatchConfig:
    """Fellegi-Sunter weights (log2 likelihood ratios) and decision thresholds; see the module docstring."""

    name_exact: float = 13.0
    name_partial: float = 7.0
    name_disagree: float = -4.0
    name_partial_threshold: float = 0.92     # Jaro-Winkler similarity for "partial"
    birth_date_exact: float = 14.0
    birth_date_partial: float = 3.0
    birth_date_disagree: float = -5.5
    sex_agree: float = 1.0
    sex_disagree: float = -5.5
    phone_agree: float = 16.0
    phone_disagree: float = -1.5
    national_id_agree: float = 20.0
    national_id_disagree: float = -20.0
    auto_link_threshold: float = 32.0
    review_threshold: float = 22.0
    margin: float = 5.0                      # best must lead the runner-up by this much to auto-link
    max_review_candidates: int = 5
    placeholder_names: frozenset[str] = DEFAULT_PLACEHOLDER_NAMES

    def __post_init__(self) -> None:
        if self.review_threshold > self.auto_link_threshold:
            raise ValueError("review_threshold must not exceed auto_link_threshold")
        if self.margin < 0:
            raise ValueError("margin must not be negative")
        if not 0.0 < self.name_partial_threshold <= 1.0:
            raise ValueError("name_partial_threshold must be in (0, 1]")
        if self.national_id_disagree >= 0:
            raise ValueError("national_id_disagree must be negative")
        if self.max_review_candidates < 1:
            raise ValueError("max_review_candidates must be at least 1")


DEFAULT_CONFIG = MatchConfig()


# ---------------------------------------------------------------------------------------------
# Identities


@dataclass(frozen=True)
class IncomingIdentity:
    """A PatientIdentity in protected form (hashes and masks instead of clear identifiers) plus its source."""

    hospital: str
    mrn: str
    name: str | None = None
    birth_date: date | None = None
    sex: Sex = Sex.UNKNOWN
    phone_hash: str | None = None
    national_id_hash: str | None = None
    national_id_status: NationalIdStatus = NationalIdStatus.MISSING
    national_id_masked: str | None = None
    phone_masked: str | None = None
    insurance_hash: str | None = None        # stored for look-ups by the service; not scored

    @classmethod
    def from_patient(cls, patient: PatientIdentity, hospital: str,
                     protector: IdentifierProtector) -> IncomingIdentity:
        """Protect the identifiers of `patient` as sent by `hospital`; the clear values are not kept."""
        hospital, mrn = hospital.strip(), patient.mrn.strip()
        if not hospital:
            raise InvalidIdentity("hospital", "is required")
        if not mrn:
            raise InvalidIdentity("mrn", "is required")
        phone = normalise_phone(patient.phone)
        insurance = normalise_identifier(IdentifierKind.INSURANCE_NUMBER, patient.insurance_number)
        status, nid_hash, nid_masked = _protect_national_id(patient, protector)
        return cls(
            hospital=hospital,
            mrn=mrn,
            name=(patient.name or "").strip() or None,
            birth_date=patient.birth_date,
            sex=patient.sex,
            phone_hash=protector.hash(IdentifierKind.PHONE, phone) if phone else None,
            national_id_hash=nid_hash,
            national_id_status=status,
            national_id_masked=nid_masked,
            phone_masked=mask_phone(phone) if phone else None,
            insurance_hash=protector.hash(IdentifierKind.INSURANCE_NUMBER, insurance) if insurance else None,
        )


def _protect_national_id(patient: PatientIdentity,
                         protector: IdentifierProtector) -> tuple[NationalIdStatus, str | None, str | None]:
    value = canonical_resident_id(patient.national_id)
    if value is None:
        return NationalIdStatus.MISSING, None, None
    masked = mask_national_id(value)
    if not is_valid_resident_id(value):
        return NationalIdStatus.INVALID, None, masked
    encoded = resident_id_birth_date(value)
    if compare_birth_dates(encoded, patient.birth_date).outcome is Agreement.DISAGREE:
        return NationalIdStatus.BIRTH_DATE_MISMATCH, None, masked
    return NationalIdStatus.VALID, protector.hash(IdentifierKind.NATIONAL_ID, value), masked


@dataclass(frozen=True)
class PatientCandidate:
    """A stored alliance patient as the matcher sees it (loaded by blocking key)."""

    patient_id: str
    name: str | None = None
    birth_date: date | None = None
    sex: Sex = Sex.UNKNOWN
    phone_hash: str | None = None
    national_id_hash: str | None = None
    hospital_mrns: frozenset[Link] = frozenset()


class _Blockable(Protocol):
    @property
    def name(self) -> str | None: ...
    @property
    def birth_date(self) -> date | None: ...
    @property
    def phone_hash(self) -> str | None: ...


def blocking_keys(identity: _Blockable, config: MatchConfig = DEFAULT_CONFIG) -> set[str]:
    """Keys to index stored patients by and to fetch candidates by; two identities are compared iff they share one.

    ``phone:<hash>`` and ``dob:<yyyy-mm-dd>`` catch name typos; ``name-yob:<name>|<yyyy>`` and
    ``name-md:<name>|<mm-dd>`` catch a wrong birth month/day or year while keeping blocks small
    (a bare common name like 张伟 would pull thousands of rows). ``name:<name>`` is emitted only
    without a birth date, so such identities meet only each other by name (and others by phone).
    """
    keys: set[str] = set()
    if identity.phone_hash:
        keys.add(f"phone:{identity.phone_hash}")
    born = identity.birth_date
    if born is not None:
        keys.add(f"dob:{born.isoformat()}")
    name = normalise_name(identity.name)
    if name is not None and not _is_placeholder(name, config):
        if born is None:
            keys.add(f"name:{name}")
        else:
            keys.add(f"name-yob:{name}|{born.year:04d}")
            keys.add(f"name-md:{name}|{born.month:02d}-{born.day:02d}")
    return keys


# ---------------------------------------------------------------------------------------------
# Comparators


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one field, with a short human note (never the values themselves)."""

    outcome: Agreement
    note: str = ""


def normalise_name(raw: str | None) -> str | None:
    """NFKC, whitespace and middle dots removed, casefolded; None when nothing is left."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw)
    kept = "".join(ch for ch in text if not ch.isspace() and ch not in _NAME_SEPARATORS)
    return kept.casefold() or None


def _is_placeholder(normalised: str, config: MatchConfig) -> bool:
    return any(normalised.startswith(p) for p in config.placeholder_names)


def jaro(a: str, b: str) -> float:
    """Jaro similarity over code points (so it works on Chinese characters), 0.0-1.0."""
    if a == b:
        return 1.0
    len_a, len_b = len(a), len(b)
    if not len_a or not len_b:
        return 0.0
    window = max(max(len_a, len_b) // 2 - 1, 0)
    used_b = [False] * len_b
    matched_a: list[str] = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len_b, i + window + 1)):
            if not used_b[j] and b[j] == ch:
                used_b[j] = True
                matched_a.append(ch)
                break
    m = len(matched_a)
    if not m:
        return 0.0
    matched_b = [ch for ch, used in zip(b, used_b, strict=True) if used]
    half_transpositions = sum(x != y for x, y in zip(matched_a, matched_b, strict=True))
    return (m / len_a + m / len_b + (m - half_transpositions / 2) / m) / 3


def jaro_winkler(a: str, b: str, *, prefix_scale: float = 0.1, max_prefix: int = 4,
                 boost_threshold: float = 0.7) -> float:
    """Jaro similarity boosted for a common prefix (up to 4 characters), as Winkler proposed."""
    similarity = jaro(a, b)
    if similarity <= boost_threshold:
        return similarity
    prefix = 0
    for x, y in zip(a[:max_prefix], b[:max_prefix], strict=False):
        if x != y:
            break
        prefix += 1
    return similarity + prefix * prefix_scale * (1 - similarity)


def compare_names(a: str | None, b: str | None, config: MatchConfig = DEFAULT_CONFIG) -> Comparison:
    """Exact after normalisation, partial at Jaro-Winkler >= threshold, else disagree; placeholders are missing."""
    na, nb = normalise_name(a), normalise_name(b)
    if na is None or nb is None:
        return Comparison(Agreement.MISSING)
    if _is_placeholder(na, config) or _is_placeholder(nb, config):
        return Comparison(Agreement.MISSING, "placeholder")
    if na == nb:
        return Comparison(Agreement.AGREE, "exact")
    similarity = jaro_winkler(na, nb)
    if similarity >= config.name_partial_threshold:
        return Comparison(Agreement.PARTIAL, f"Jaro-Winkler {similarity:.2f}")
    return Comparison(Agreement.DISAGREE)


def compare_birth_dates(a: date | None, b: date | None) -> Comparison:
    """Exact; partial when one of year/month/day differs or day and month are swapped; else disagree."""
    if a is None or b is None:
        return Comparison(Agreement.MISSING)
    if a == b:
        return Comparison(Agreement.AGREE)
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return Comparison(Agreement.PARTIAL, "day and month transposed")
    if (a.year == b.year) + (a.month == b.month) + (a.day == b.day) == 2:
        return Comparison(Agreement.PARTIAL, "one component differs")
    return Comparison(Agreement.DISAGREE)


def compare_sex(a: Sex, b: Sex) -> Comparison:
    """Agree or disagree when both are known; UNKNOWN on either side compares as missing."""
    if Sex.UNKNOWN in (a, b):
        return Comparison(Agreement.MISSING)
    return Comparison(Agreement.AGREE if a == b else Agreement.DISAGREE)


def compare_hashes(a: str | None, b: str | None) -> Comparison:
    """Equal keyed hashes agree; both present and different disagree; otherwise missing."""
    if not a or not b:
        return Comparison(Agreement.MISSING)
    return Comparison(Agreement.AGREE if a == b else Agreement.DISAGREE)


# ---------------------------------------------------------------------------------------------
# Scoring


_FIELD_LABELS = {"name": "name", "birth_date": "birth date", "sex": "sex", "phone": "phone",
                 "national_id": "national ID"}
_OUTCOME_WORDS = {Agreement.AGREE: "agrees", Agreement.PARTIAL: "partially agrees",
                  Agreement.DISAGREE: "disagrees", Agreement.MISSING: "missing"}


def _reason(field_name: str, comparison: Comparison) -> str:
    word = _OUTCOME_WORDS[comparison.outcome]
    if field_name == "sex" and comparison.outcome is Agreement.MISSING:
        word = "unknown"
    text = f"{_FIELD_LABELS[field_name]} {word}"
    return f"{text} ({comparison.note})" if comparison.note else text


def _weight(field_name: str, outcome: Agreement, config: MatchConfig) -> float:
    c = config
    table = {
        "name": (c.name_exact, c.name_partial, c.name_disagree),
        "birth_date": (c.birth_date_exact, c.birth_date_partial, c.birth_date_disagree),
        "sex": (c.sex_agree, None, c.sex_disagree),
        "phone": (c.phone_agree, None, c.phone_disagree),
        "national_id": (c.national_id_agree, None, c.national_id_disagree),
    }
    agree, partial, disagree = table[field_name]
    weights = {Agreement.AGREE: agree, Agreement.PARTIAL: partial, Agreement.DISAGREE: disagree,
               Agreement.MISSING: 0.0}
    weight = weights[outcome]
    if weight is None:
        raise ValueError(f"{field_name} has no partial agreement")
    return float(weight)


@dataclass(frozen=True)
class MatchScore:
    """Total match weight and its per-field parts (name, birth_date, sex, phone, national_id)."""

    total: float
    parts: dict[str, float]
    outcomes: dict[str, Agreement] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    @property
    def national_id_conflict(self) -> bool:
        """Both sides carry a national ID hash and they differ."""
        return self.outcomes.get("national_id") is Agreement.DISAGREE


def score(incoming: IncomingIdentity, candidate: PatientCandidate,
          config: MatchConfig = DEFAULT_CONFIG) -> MatchScore:
    """Fellegi-Sunter weight of the evidence that `incoming` and `candidate` are the same person."""
    comparisons = {
        "name": compare_names(incoming.name, candidate.name, config),
        "birth_date": compare_birth_dates(incoming.birth_date, candidate.birth_date),
        "sex": compare_sex(incoming.sex, candidate.sex),
        "phone": compare_hashes(incoming.phone_hash, candidate.phone_hash),
        "national_id": compare_hashes(incoming.national_id_hash, candidate.national_id_hash),
    }
    parts = {name: _weight(name, c.outcome, config) for name, c in comparisons.items()}
    return MatchScore(
        total=round(sum(parts.values()), 6),
        parts=parts,
        outcomes={name: c.outcome for name, c in comparisons.items()},
        reasons=tuple(_reason(name, c) for name, c in comparisons.items()),
    )


# ---------------------------------------------------------------------------------------------
# Decision


@dataclass(frozen=True)
class CandidateScore:
    """A candidate put forward with a decision: id, score (None if it was not among the candidates), why."""

    patient_id: str
    score: float | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchDecision:
    """What to do with an incoming identity; `score` is the linked or best candidate's, None if unscored."""

    kind: DecisionKind
    patient_id: str | None = None
    score: float | None = None
    candidates: list[CandidateScore] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)          # for humans: no identifiers

    @property
    def is_link(self) -> bool:
        """True when the MRN should be linked to `patient_id` without review."""
        return self.patient_id is not None


_STATUS_REASONS = {
    NationalIdStatus.VALID: "national ID present and valid",
    NationalIdStatus.MISSING: "national ID not sent",
    NationalIdStatus.INVALID: "national ID fails the format or checksum; not used",
    NationalIdStatus.BIRTH_DATE_MISMATCH:
        "national ID's birth date contradicts the sent birth date (perhaps a guardian's ID); not used",
}


def decide(incoming: IncomingIdentity, *, by_national_id: str | None, by_mrn: str | None,
           candidates: Sequence[PatientCandidate], config: MatchConfig = DEFAULT_CONFIG) -> MatchDecision:
    """Deterministic links first (MRN, then national ID), then the best probabilistic candidate, else NEW.

    `by_mrn`: the (surviving) patient already linked to (incoming.hospital, incoming.mrn), if any.
    `by_national_id`: the (surviving) patient holding incoming.national_id_hash, if any.
    `candidates`: patients found by blocking keys, ideally including the two above (conflicts are
    checked against them). A candidate whose hospital_mrns hold this hospital's MRN counts as by_mrn.
    """
    scored = _score_all(incoming, candidates, config)
    intake = [_STATUS_REASONS[incoming.national_id_status]]
    link = (incoming.hospital, incoming.mrn)
    holders = {c.patient_id for c in candidates if link in c.hospital_mrns}
    if by_mrn:
        holders.add(by_mrn)
    mrn_holders = sorted(holders)

    if len(mrn_holders) > 1:
        return _review(scored, mrn_holders, intake + ["MRN is linked to more than one patient"])
    mrn_patient = mrn_holders[0] if mrn_holders else None
    if mrn_patient and by_national_id and mrn_patient != by_national_id:
        return _review(scored, [mrn_patient, by_national_id],
                       intake + ["MRN and national ID point at different patients"])
    if mrn_patient:
        found = scored.get(mrn_patient)
        if found is not None and found.national_id_conflict:
            return _review(scored, [mrn_patient],
                           intake + ["national ID differs from the patient already linked to this MRN"])
        reasons = intake + ["hospital MRN already linked to this patient"]
        if by_national_id == mrn_patient:
            reasons.append("national ID points at the same patient")
        return _deterministic(DecisionKind.LINK_EXISTING_MRN, mrn_patient, found, reasons, config)
    if by_national_id:
        return _deterministic(DecisionKind.LINK_NATIONAL_ID, by_national_id, scored.get(by_national_id),
                              intake + ["national ID matches an existing patient"], config)
    return _probabilistic(scored, intake, config)


def _score_all(incoming: IncomingIdentity, candidates: Iterable[PatientCandidate],
               config: MatchConfig) -> dict[str, MatchScore]:
    best: dict[str, MatchScore] = {}
    for candidate in candidates:
        s = score(incoming, candidate, config)
        if candidate.patient_id not in best or s.total > best[candidate.patient_id].total:
            best[candidate.patient_id] = s
    return best


def _entry(patient_id: str, s: MatchScore | None) -> CandidateScore:
    return CandidateScore(patient_id, s.total if s else None, s.reasons if s else ())


def _review(scored: dict[str, MatchScore], patient_ids: list[str], reasons: list[str],
            best: float | None = None) -> MatchDecision:
    return MatchDecision(DecisionKind.REVIEW, None, best,
                         [_entry(pid, scored.get(pid)) for pid in dict.fromkeys(patient_ids)], reasons)


def _deterministic(kind: DecisionKind, patient_id: str, found: MatchScore | None, reasons: list[str],
                   config: MatchConfig) -> MatchDecision:
    demographics = found.total - found.parts["national_id"] if found is not None else None
    if demographics is not None and demographics < config.review_threshold:
        reasons.append(f"demographics differ markedly from the linked patient (score {demographics:g} "
                       "without the national ID)")
    return MatchDecision(kind, patient_id, found.total if found else None,
                         [_entry(patient_id, found)] if found else [], reasons)


def _probabilistic(scored: dict[str, MatchScore], intake: list[str], config: MatchConfig) -> MatchDecision:
    if not scored:
        return MatchDecision(DecisionKind.NEW, reasons=intake + ["no candidates share a blocking key"])
    ranked = sorted(scored.items(), key=lambda item: (-item[1].total, item[0]))
    best_id, best = ranked[0]
    gap = best.total - ranked[1][1].total if len(ranked) > 1 else math.inf
    listed = [pid for pid, s in ranked if s.total >= config.review_threshold][:config.max_review_candidates]
    reasons = intake + list(best.reasons)
    at = f"best score {best.total:g}"

    if best.total >= config.auto_link_threshold:
        if best.national_id_conflict:
            return _review(scored, listed, reasons + [f"{at} but national IDs differ: never linked automatically"],
                           best.total)
        if gap < config.margin:
            close = list(dict.fromkeys([best_id, ranked[1][0], *listed]))[:max(2, config.max_review_candidates)]
            return _review(scored, close, reasons + [
                f"{at}, runner-up within {gap:g} (< margin {config.margin:g}): candidates too close"], best.total)
        lead = "the only candidate" if gap == math.inf else f"ahead of the runner-up by {gap:g}"
        reasons.append(f"{at} >= auto-link threshold {config.auto_link_threshold:g}, {lead}")
        return MatchDecision(DecisionKind.LINK_PROBABILISTIC, best_id, best.total,
                             [_entry(pid, scored[pid]) for pid in listed], reasons)
    if best.total >= config.review_threshold:
        return _review(scored, listed, reasons + [
            f"{at} between review threshold {config.review_threshold:g} "
            f"and auto-link threshold {config.auto_link_threshold:g}"], best.total)
    reasons.append(f"{at} below review threshold {config.review_threshold:g}")
    return MatchDecision(DecisionKind.NEW, None, best.total, [], reasons)


# ---------------------------------------------------------------------------------------------
# The alliance patient aggregate, links, merge and unmerge


@dataclass(frozen=True)
class PatientLinked:
    """A hospital MRN now points at an alliance patient."""

    patient_id: str
    hospital: str
    mrn: str
    kind: DecisionKind
    score: float | None
    at: datetime
    by: str | None = None                    # the reviewer/administrator for kind ADMIN or REVIEW


@dataclass(frozen=True)
class PatientsMerged:
    """An administrator merged `absorbed_id` into `survivor_id`; `moved_links` went to the survivor."""

    survivor_id: str
    absorbed_id: str
    moved_links: frozenset[Link]
    at: datetime
    by: str
    national_id_moved: bool = False


@dataclass(frozen=True)
class PatientsUnmerged:
    """An administrator undid a merge; `restored_links` went back to the absorbed patient."""

    survivor_id: str
    absorbed_id: str
    restored_links: frozenset[Link]
    at: datetime
    by: str
    national_id_returned: bool = False


MpiEvent = PatientLinked | PatientsMerged | PatientsUnmerged


@dataclass
class AlliancePatient:
    """One person in the alliance; `version` increases by one on every change (optimistic locking)."""

    patient_id: str
    status: PatientStatus = PatientStatus.ACTIVE
    merged_into: str | None = None
    links: set[Link] = field(default_factory=set)
    national_id_hash: str | None = None
    national_id_masked: str | None = None
    name: str | None = None
    birth_date: date | None = None
    sex: Sex = Sex.UNKNOWN
    phone_hash: str | None = None
    phone_masked: str | None = None
    insurance_hash: str | None = None
    national_id_from: str | None = None      # the absorbed patient whose merge brought the national ID
    version: int = 1

    @classmethod
    def from_incoming(cls, patient_id: str, incoming: IncomingIdentity) -> AlliancePatient:
        """A new patient with the incoming demographics and no links yet (link it next)."""
        if not patient_id.strip():
            raise InvalidIdentity("patient_id", "is required")
        return cls(patient_id=patient_id, national_id_hash=incoming.national_id_hash,
                   national_id_masked=incoming.national_id_masked if incoming.national_id_hash else None,
                   name=incoming.name, birth_date=incoming.birth_date, sex=incoming.sex,
                   phone_hash=incoming.phone_hash, phone_masked=incoming.phone_masked,
                   insurance_hash=incoming.insurance_hash)

    def as_candidate(self) -> PatientCandidate:
        """The matcher's view of this patient."""
        return PatientCandidate(self.patient_id, self.name, self.birth_date, self.sex, self.phone_hash,
                                self.national_id_hash, frozenset(self.links))

    def link(self, hospital: str, mrn: str, kind: DecisionKind, score: float | None, now: datetime,
             by: str | None = None) -> PatientLinked | None:
        """Link (hospital, mrn) here; None when it already is. The service keeps one patient per link."""
        if self.status is PatientStatus.MERGED:
            raise LinkRefused("patient-merged", f"patient {self.patient_id} is merged into {self.merged_into}")
        if not hospital.strip() or not mrn.strip():
            raise InvalidIdentity("link", "hospital and MRN are required")
        if (hospital, mrn) in self.links:
            return None
        self.links.add((hospital, mrn))
        self.version += 1
        return PatientLinked(self.patient_id, hospital, mrn, kind, score, now, by)


def merge(survivor: AlliancePatient, absorbed: AlliancePatient, now: datetime, by: str) -> list[MpiEvent]:
    """Merge `absorbed` into `survivor`: its links (and its national ID, if the survivor has none) move over."""
    if not by.strip():
        raise MergeRefused("actor-required", "a merge needs the administrator who made it")
    if survivor.patient_id == absorbed.patient_id:
        raise MergeRefused("same-patient", "cannot merge a patient into itself")
    if survivor.status is PatientStatus.MERGED:
        raise MergeRefused("survivor-merged",
                           f"survivor {survivor.patient_id} is itself merged into {survivor.merged_into}")
    if absorbed.status is PatientStatus.MERGED:
        raise MergeRefused("absorbed-merged",
                           f"patient {absorbed.patient_id} is already merged into {absorbed.merged_into}")
    if (survivor.national_id_hash and absorbed.national_id_hash
            and survivor.national_id_hash != absorbed.national_id_hash):
        raise MergeRefused("national-id-conflict", "the two patients have different national IDs")

    moved = frozenset(absorbed.links)
    survivor.links |= moved
    absorbed.links = set()
    national_id_moved = survivor.national_id_hash is None and absorbed.national_id_hash is not None
    if national_id_moved:
        # moved, not copied: the national ID hash is unique across all patients, merged ones included
        survivor.national_id_hash, survivor.national_id_masked = absorbed.national_id_hash, absorbed.national_id_masked
        survivor.national_id_from = absorbed.patient_id
        absorbed.national_id_hash = absorbed.national_id_masked = None
    absorbed.status, absorbed.merged_into = PatientStatus.MERGED, survivor.patient_id
    survivor.version += 1
    absorbed.version += 1
    return [PatientsMerged(survivor.patient_id, absorbed.patient_id, moved, now, by, national_id_moved)]


def unmerge(survivor: AlliancePatient, absorbed: AlliancePatient, links_to_restore: Iterable[Link],
            now: datetime, by: str) -> list[MpiEvent]:
    """Undo a merge: `absorbed` is active again with `links_to_restore` (and the national ID it brought)."""
    restore = frozenset(links_to_restore)
    if not by.strip():
        raise UnmergeRefused("actor-required", "an unmerge needs the administrator who made it")
    if absorbed.status is not PatientStatus.MERGED or absorbed.merged_into != survivor.patient_id:
        raise UnmergeRefused("not-merged-into-survivor",
                             f"patient {absorbed.patient_id} is not merged into {survivor.patient_id}")
    if survivor.status is PatientStatus.MERGED:
        raise UnmergeRefused("survivor-merged",
                             f"survivor {survivor.patient_id} is itself merged; unmerge it first")
    not_held = restore - survivor.links
    if not_held:
        raise UnmergeRefused("link-not-held", f"{len(not_held)} link(s) to restore are not held by the survivor")

    survivor.links -= restore
    absorbed.links = set(restore)
    national_id_returned = survivor.national_id_from == absorbed.patient_id
    if national_id_returned:
        absorbed.national_id_hash, absorbed.national_id_masked = survivor.national_id_hash, survivor.national_id_masked
        survivor.national_id_hash = survivor.national_id_masked = survivor.national_id_from = None
    absorbed.status, absorbed.merged_into = PatientStatus.ACTIVE, None
    survivor.version += 1
    absorbed.version += 1
    return [PatientsUnmerged(survivor.patient_id, absorbed.patient_id, restore, now, by, national_id_returned)]
