"""The master patient index on PostgreSQL: candidate look-up by blocking keys, then the pure decision."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from google.protobuf.message import Message
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance_messaging import proto_time

from ..domain.clinical import PatientIdentity, Sex
from ..domain.mpi import (
    DEFAULT_CONFIG,
    DecisionKind,
    IdentifierProtector,
    IncomingIdentity,
    MatchConfig,
    PatientCandidate,
    blocking_keys,
    decide,
)
from .orm import match_reviews, patient_blocking_keys, patient_links, patients

MAX_CANDIDATES = 50

_LOOKUPS = """
SELECT 'mrn' AS via, p.patient_id, p.status, p.merged_into
  FROM patient_links l JOIN patients p ON p.patient_id = l.patient_id
 WHERE l.hospital_id = $1 AND l.mrn = $2
UNION ALL
SELECT 'nid', p.patient_id, p.status, p.merged_into FROM patients p WHERE p.national_id_hash = $3::text
UNION ALL
(SELECT DISTINCT 'block', k.patient_id, 'active', NULL::text
   FROM patient_blocking_keys k JOIN patients p ON p.patient_id = k.patient_id
  WHERE k.key = ANY($4::text[]) AND p.status = 'active' LIMIT $5)
"""
_CANDIDATES = """
SELECT p.patient_id, p.name, p.birth_date, p.sex, p.phone_hash, p.national_id_hash,
       ARRAY(SELECT l.hospital_id FROM patient_links l WHERE l.patient_id = p.patient_id
             ORDER BY l.hospital_id, l.mrn) AS hospitals,
       ARRAY(SELECT l.mrn FROM patient_links l WHERE l.patient_id = p.patient_id
             ORDER BY l.hospital_id, l.mrn) AS mrns
  FROM patients p WHERE p.patient_id = ANY($1::text[]) ORDER BY p.patient_id
"""
_CREATE_AND_LINK = """
WITH created AS (
  INSERT INTO patients (patient_id, status, name, birth_date, sex, phone_hash, phone_masked, national_id_hash,
                        national_id_masked, insurance_hash)
  VALUES ($1, 'active', $2, $3, $4, $5, $6, $7, $8, $9)),
keys AS (
  INSERT INTO patient_blocking_keys (key, patient_id) SELECT k, $1 FROM unnest($10::text[]) AS k
  ON CONFLICT DO NOTHING)
INSERT INTO patient_links (hospital_id, mrn, patient_id, decision, score) VALUES ($11, $12, $1, $13, $14)
ON CONFLICT (hospital_id, mrn) DO UPDATE SET patient_id = excluded.patient_id, decision = excluded.decision,
                                             score = excluded.score
"""


async def _driver(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under `conn`, inside the transaction `conn` has begun (a statement already ran)."""
    db = (await conn.get_raw_connection()).driver_connection
    if not db.is_in_transaction():
        raise RuntimeError("the patient index runs inside a transaction that has begun")
    return db


class PostgresPatientIndex:
    """Resolves a hospital's patient to one alliance patient id, linking or creating as the rules decide."""

    def __init__(self, protector: IdentifierProtector, config: MatchConfig = DEFAULT_CONFIG) -> None:
        self._protector = protector
        self._config = config

    @property
    def protector(self) -> IdentifierProtector:
        return self._protector

    async def resolve(self, conn: AsyncConnection, identity: PatientIdentity, hospital_id: str,
                      now: datetime) -> tuple[str, list[Message]]:
        incoming = IncomingIdentity.from_patient(identity, hospital_id, self._protector)
        # Serialise concurrent messages about the same hospital patient (and the same national id).
        keys = sorted({f"mrn|{hospital_id}|{incoming.mrn}",
                       *([f"nid|{incoming.national_id_hash}"] if incoming.national_id_hash else [])})
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                                "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"), {"keys": keys})
        # Everything else on the hot path goes straight to asyncpg inside the same transaction: three
        # statements for a new person (look-ups, candidates when blocked, create + link) instead of eight
        # through SQLAlchemy, each with its compile and span.
        db = await _driver(conn)
        by_mrn, by_nid, blocked = await self._lookups(conn, db, hospital_id, incoming)
        candidate_ids = {p for p in (by_mrn, by_nid) if p}
        if by_mrn is None:
            candidate_ids |= blocked
        candidates = await self._candidates(db, candidate_ids)
        decision = decide(incoming, by_national_id=by_nid, by_mrn=by_mrn, candidates=candidates,
                          config=self._config)
        if decision.kind is DecisionKind.NEW and by_mrn is None:
            patient_id = await self._create_and_link(db, hospital_id, incoming, by_nid, decision.score or 0.0)
            return patient_id, [pb.PatientLinked(patient_id=patient_id, hospital_id=hospital_id, mrn=incoming.mrn,
                                                 decision=decision.kind.value, score=decision.score or 0.0,
                                                 occurred_at=proto_time(now))]
        known = {c.patient_id: c for c in candidates}
        if decision.kind is DecisionKind.LINK_EXISTING_MRN and decision.patient_id:
            await self._enrich(conn, decision.patient_id, incoming, known.get(decision.patient_id), by_nid)
            return decision.patient_id, []
        if decision.kind in (DecisionKind.LINK_NATIONAL_ID, DecisionKind.LINK_PROBABILISTIC) and decision.patient_id:
            patient_id = decision.patient_id
            await self._enrich(conn, patient_id, incoming, known.get(patient_id), by_nid)
        else:
            # REVIEW keeps an existing MRN link as it is; otherwise a provisional patient holds the data
            # until an administrator links or merges it.
            patient_id = by_mrn or await self._create(conn, incoming, by_nid)
            if decision.kind is DecisionKind.REVIEW:
                await conn.execute(insert(match_reviews).values(
                    review_id=uuid.uuid4(), hospital_id=hospital_id, mrn=incoming.mrn,
                    provisional_patient_id=patient_id, status="open", reasons=list(decision.reasons),
                    candidates=[{"patient_id": c.patient_id, "score": c.score, "reasons": list(c.reasons)}
                                for c in decision.candidates]))
            if by_mrn:
                return patient_id, []
        await self._link(conn, hospital_id, incoming.mrn, patient_id, decision.kind, decision.score or 0.0)
        return patient_id, [pb.PatientLinked(patient_id=patient_id, hospital_id=hospital_id, mrn=incoming.mrn,
                                             decision=decision.kind.value, score=decision.score or 0.0,
                                             occurred_at=proto_time(now))]

    async def survivor(self, conn: AsyncConnection, patient_id: str) -> str | None:
        """Follow merges to the surviving patient id."""
        seen = set()
        while patient_id and patient_id not in seen:
            seen.add(patient_id)
            row = (await conn.execute(select(patients.c.status, patients.c.merged_into)
                                      .where(patients.c.patient_id == patient_id))).first()
            if row is None:
                return None
            if row.status != "merged" or not row.merged_into:
                return patient_id
            patient_id = row.merged_into
        return None

    async def merged_group(self, conn: AsyncConnection, survivor_id: str) -> list[str]:
        """The surviving patient and every patient merged into it, directly or through other merges."""
        rows = await conn.execute(text(
            "WITH RECURSIVE grp(id) AS (SELECT CAST(:s AS text) UNION "
            "SELECT p.patient_id FROM patients p JOIN grp ON p.merged_into = grp.id WHERE p.status = 'merged') "
            "SELECT id FROM grp ORDER BY id"), {"s": survivor_id})
        return [r.id for r in rows]

    async def _lookups(self, conn: AsyncConnection, db: asyncpg.Connection, hospital_id: str,
                       incoming: IncomingIdentity) -> tuple[str | None, str | None, set[str]]:
        """The patient of this MRN, the patient of this national ID (both through merges) and those blocked with
        the incoming identity, in one statement."""
        rows = await db.fetch(_LOOKUPS, hospital_id, incoming.mrn, incoming.national_id_hash,
                              sorted(blocking_keys(incoming, self._config)), MAX_CANDIDATES)
        found: dict[str, str | None] = {"mrn": None, "nid": None}
        blocked = set()
        for via, patient_id, status, merged_into in rows:
            if via == "block":
                blocked.add(patient_id)
            elif status == "merged" and merged_into:
                found[via] = await self.survivor(conn, merged_into)
            else:
                found[via] = patient_id
        return found["mrn"], found["nid"], blocked

    async def _candidates(self, db: asyncpg.Connection, ids: set[str]) -> list[PatientCandidate]:
        if not ids:
            return []
        rows = await db.fetch(_CANDIDATES, sorted(ids))
        return [PatientCandidate(patient_id=r["patient_id"], name=r["name"], birth_date=r["birth_date"],
                                 sex=Sex(r["sex"]), phone_hash=r["phone_hash"], national_id_hash=r["national_id_hash"],
                                 hospital_mrns=frozenset(zip(r["hospitals"], r["mrns"], strict=True)))
                for r in rows]

    async def _create_and_link(self, db: asyncpg.Connection, hospital_id: str, incoming: IncomingIdentity,
                               nid_owner: str | None, score: float) -> str:
        """A new alliance patient, its blocking keys and the MRN's link, in one statement."""
        patient_id = f"AP-{uuid.uuid4().hex[:20].upper()}"
        nid_taken = incoming.national_id_hash and nid_owner
        await db.execute(_CREATE_AND_LINK, patient_id, incoming.name, incoming.birth_date, incoming.sex.value,
                         incoming.phone_hash, incoming.phone_masked,
                         None if nid_taken else incoming.national_id_hash, incoming.national_id_masked,
                         incoming.insurance_hash, sorted(blocking_keys(incoming, self._config)), hospital_id, incoming.mrn,
                         DecisionKind.NEW.value, score)
        return patient_id

    async def _create(self, conn: AsyncConnection, incoming: IncomingIdentity, nid_owner: str | None) -> str:
        patient_id = f"AP-{uuid.uuid4().hex[:20].upper()}"
        nid_taken = incoming.national_id_hash and nid_owner
        await conn.execute(insert(patients).values(
            patient_id=patient_id, status="active", name=incoming.name, birth_date=incoming.birth_date,
            sex=incoming.sex.value, phone_hash=incoming.phone_hash, phone_masked=incoming.phone_masked,
            national_id_hash=None if nid_taken else incoming.national_id_hash,
            national_id_masked=incoming.national_id_masked, insurance_hash=incoming.insurance_hash))
        await self._index(conn, patient_id, incoming)
        return patient_id

    async def _index(self, conn: AsyncConnection, patient_id: str, incoming: IncomingIdentity) -> None:
        keys = blocking_keys(incoming, self._config)
        if keys:
            await conn.execute(insert(patient_blocking_keys).values(
                [{"key": k, "patient_id": patient_id} for k in sorted(keys)]).on_conflict_do_nothing())

    async def _enrich(self, conn: AsyncConnection, patient_id: str, incoming: IncomingIdentity,
                      known: PatientCandidate | None, nid_owner: str | None) -> None:
        """Fill what the index did not know yet; never overwrite what it had. No statement when nothing is new."""
        if known is not None and not any((
                incoming.name and not known.name, incoming.birth_date and not known.birth_date,
                incoming.phone_hash and not known.phone_hash,
                incoming.national_id_hash and not known.national_id_hash and not nid_owner,
                incoming.sex is not Sex.UNKNOWN and known.sex is Sex.UNKNOWN)):
            return
        row = (await conn.execute(select(patients).where(patients.c.patient_id == patient_id))).first()
        if row is None:
            return
        fill = {k: v for k, v in {
            "name": incoming.name, "birth_date": incoming.birth_date, "phone_hash": incoming.phone_hash,
            "phone_masked": incoming.phone_masked, "national_id_masked": incoming.national_id_masked,
            "insurance_hash": incoming.insurance_hash,
            "national_id_hash": incoming.national_id_hash if not nid_owner else None,
        }.items() if v is not None and getattr(row, k) is None}
        if row.sex == Sex.UNKNOWN.value and incoming.sex is not Sex.UNKNOWN:
            fill["sex"] = incoming.sex.value
        if fill:
            await conn.execute(update(patients).where(patients.c.patient_id == patient_id).values(**fill))
            await self._index(conn, patient_id, incoming)

    async def _link(self, conn: AsyncConnection, hospital_id: str, mrn: str, patient_id: str,
                    kind: DecisionKind, score: float) -> None:
        stmt = insert(patient_links).values(hospital_id=hospital_id, mrn=mrn, patient_id=patient_id,
                                            decision=kind.value, score=score)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[patient_links.c.hospital_id, patient_links.c.mrn],
            set_={"patient_id": patient_id, "decision": kind.value, "score": score}))
