"""Referral persistence: rule versions, candidates for routing, and the referral aggregate (optimistic)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Interval, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.routing import BedStatus, Candidate
from ..domain.rules import Direction, Level, Rule, RuleBook, RuleSet, Severity, Urgency
from ..domain.workflow import OfferState, Referral, Status
from .orm import bed_status, encounters, member_hospitals, referrals, rule_versions


class StaleReferral(Exception):
    """Someone else changed the referral first (e.g. another hospital accepted at the same instant)."""


def rule_to_json(r: Rule) -> dict:
    return {"rule_id": r.rule_id, "icd10": r.icd10, "severities": sorted(s.value for s in r.severities),
            "direction": r.direction.value, "required_specialty": r.required_specialty,
            "target_levels": sorted(t.value for t in r.target_levels), "urgency": r.urgency.value,
            "description": r.description}


def rule_from_json(d: dict) -> Rule:
    return Rule(d["rule_id"], d["icd10"], frozenset(Severity(s) for s in d["severities"]), Direction(d["direction"]),
                d.get("required_specialty"), frozenset(Level(t) for t in d["target_levels"]), Urgency(d["urgency"]),
                d.get("description", ""))


async def load_rulebook(conn: AsyncConnection) -> RuleBook:
    rows = (await conn.execute(select(rule_versions).order_by(rule_versions.c.version))).all()
    return RuleBook(tuple(RuleSet(r.version, r.effective_from, tuple(rule_from_json(x) for x in r.rules))
                          for r in rows))


async def save_ruleset(conn: AsyncConnection, rules: RuleSet, by: str) -> None:
    await conn.execute(insert(rule_versions).values(version=rules.version, effective_from=rules.effective_from,
                                                    rules=[rule_to_json(r) for r in rules.rules], published_by=by))


async def candidates(conn: AsyncConnection, specialty: str | None) -> list[Candidate]:
    """Every member hospital with its bed status for `specialty` and its count of open referrals."""
    beds = {}
    if specialty:
        for b in await conn.execute(select(bed_status).where(bed_status.c.specialty == specialty)):
            beds[b.hospital_id] = BedStatus(b.hospital_id, b.specialty, b.available, b.total, b.reported_at)
    open_counts = dict((await conn.execute(
        select(func.unnest(referrals.c.offered_to), func.count()).where(
            referrals.c.status.in_(["requested", "offered", "accepted", "in_transfer"]))
        .group_by(func.unnest(referrals.c.offered_to)))).all())
    return [Candidate(h.hospital_id, Level(h.level), h.region_code, frozenset(h.specialties), h.total_beds,
                      beds.get(h.hospital_id), open_counts.get(h.hospital_id, 0), h.active)
            for h in await conn.execute(select(member_hospitals))]


async def region_of(conn: AsyncConnection, hospital_id: str) -> str | None:
    row = (await conn.execute(select(member_hospitals.c.region_code).where(
        member_hospitals.c.hospital_id == hospital_id))).first()
    return row.region_code if row else None


def _to_json(r: Referral) -> dict:
    def t(v: datetime | None) -> str | None:
        return v.isoformat() if v else None
    return {"referral_id": r.referral_id, "patient_id": r.patient_id, "origin_hospital": r.origin_hospital,
            "direction": r.direction.value, "diagnosis_code": r.diagnosis_code, "severity": r.severity.value,
            "urgency": r.urgency.value, "rule_id": r.rule_id, "rule_version": r.rule_version,
            "created_at": t(r.created_at), "deadline": t(r.deadline), "status": r.status.value,
            "offers": {h: s.value for h, s in r.offers.items()}, "accepted_by": r.accepted_by,
            "accepted_at": t(r.accepted_at), "completed_at": t(r.completed_at), "linked_from": r.linked_from,
            "escalated": r.escalated, "last_changed_at": t(r.last_changed_at), "version": r.version}


def _from_json(d: dict) -> Referral:
    def t(v: str | None) -> datetime | None:
        return datetime.fromisoformat(v) if v else None
    return Referral(d["referral_id"], d["patient_id"], d["origin_hospital"], Direction(d["direction"]),
                    d["diagnosis_code"], Severity(d["severity"]), Urgency(d["urgency"]), d["rule_id"],
                    d["rule_version"], t(d["created_at"]), t(d["deadline"]), Status(d["status"]),
                    {h: OfferState(s) for h, s in d["offers"].items()}, d["accepted_by"], t(d["accepted_at"]),
                    t(d["completed_at"]), d["linked_from"], d["escalated"], t(d["last_changed_at"]), d["version"])


def as_view(r: Referral, routing: dict | None = None) -> dict:
    view = _to_json(r)
    if routing is not None:
        view["routing"] = routing
    return view


async def add(conn: AsyncConnection, r: Referral, routing: dict) -> None:
    await conn.execute(insert(referrals).values(
        referral_id=r.referral_id, patient_id=r.patient_id, origin_hospital=r.origin_hospital,
        accepted_by=r.accepted_by, offered_to=sorted(r.offers), status=r.status.value, direction=r.direction.value,
        deadline=r.deadline, escalated=r.escalated, version=r.version, state=_to_json(r), routing=routing,
        created_at=r.created_at))


async def get(conn: AsyncConnection, referral_id: str, *, for_update: bool = False) -> tuple[Referral, dict] | None:
    stmt = select(referrals.c.state, referrals.c.routing).where(referrals.c.referral_id == referral_id)
    row = (await conn.execute(stmt.with_for_update() if for_update else stmt)).first()
    return (_from_json(row.state), row.routing) if row else None


async def save(conn: AsyncConnection, r: Referral, expected_version: int) -> None:
    """Write the new state only if nobody changed it since `expected_version` was read."""
    result = await conn.execute(update(referrals).where(
        referrals.c.referral_id == r.referral_id, referrals.c.version == expected_version).values(
        accepted_by=r.accepted_by, offered_to=sorted(r.offers), status=r.status.value, deadline=r.deadline,
        escalated=r.escalated, version=r.version, state=_to_json(r), updated_at=func.now()))
    if result.rowcount != 1:
        raise StaleReferral(r.referral_id)


async def due(conn: AsyncConnection, now: datetime, limit: int = 100) -> list[str]:
    """Open referrals whose escalation point or deadline has passed, locked for this worker only."""
    half = referrals.c.created_at + literal_column("((referrals.deadline - referrals.created_at) / 2)", Interval)
    rows = await conn.execute(select(referrals.c.referral_id).where(
        referrals.c.status.in_(["requested", "offered"]),
        (referrals.c.deadline <= now) | ((half <= now) & referrals.c.escalated.is_(False)))
        .order_by(referrals.c.deadline).limit(limit).with_for_update(skip_locked=True))
    return [r.referral_id for r in rows]


async def has_down_referral(conn: AsyncConnection, up_id: str) -> bool:
    return (await conn.execute(select(referrals.c.referral_id).where(
        referrals.c.state["linked_from"].astext == up_id))).first() is not None


async def all_referrals(conn: AsyncConnection, since: datetime | None = None) -> list[Referral]:
    stmt = select(referrals.c.state)
    if since is not None:
        stmt = stmt.where(referrals.c.created_at >= since)
    return [_from_json(row.state) for row in await conn.execute(stmt)]


async def discharged_encounters(conn: AsyncConnection, since: datetime | None = None) -> list:
    """Discharged stays with their hospital's level and whether the patient was referred down from there."""
    down = select(referrals.c.referral_id).where(
        referrals.c.direction == "down", referrals.c.patient_id == encounters.c.patient_id,
        referrals.c.origin_hospital == encounters.c.hospital_id).exists()
    stmt = select(encounters.c.hospital_id, encounters.c.diagnosis_code, member_hospitals.c.level,
                  down.label("referred_down")).join(
        member_hospitals, member_hospitals.c.hospital_id == encounters.c.hospital_id)
    if since is not None:
        stmt = stmt.where(encounters.c.discharged_at >= since)
    return (await conn.execute(stmt)).all()
