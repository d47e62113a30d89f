"""The master patient index on PostgreSQL: candidate look-up by blocking keys, then the pure decision."""

from __future__ import annotations

import uuid
from datetime import datetime

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
        by_mrn = await self._by_mrn(conn, hospital_id, incoming.mrn)
        by_nid = await self._by_national_id(conn, incoming.national_id_hash)
        candidate_ids = {p for p in (by_mrn, by_nid) if p}
        if not candidate_ids or by_mrn is None:
            candidate_ids |= await self._blocked(conn, blocking_keys(incoming, self._config))
        candidates = await self._candidates(conn, candidate_ids)
        decision = decide(incoming, by_national_id=by_nid, by_mrn=by_mrn, candidates=candidates,
                          config=self._config)
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

    async def _by_mrn(self, conn: AsyncConnection, hospital_id: str, mrn: str) -> str | None:
        row = (await conn.execute(select(patient_links.c.patient_id).where(
            patient_links.c.hospital_id == hospital_id, patient_links.c.mrn == mrn))).first()
        return await self.survivor(conn, row.patient_id) if row else None

    async def _by_national_id(self, conn: AsyncConnection, nid_hash: str | None) -> str | None:
        if not nid_hash:
            return None
        row = (await conn.execute(select(patients.c.patient_id).where(patients.c.national_id_hash == nid_hash))).first()
        return await self.survivor(conn, row.patient_id) if row else None

    async def _blocked(self, conn: AsyncConnection, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        rows = await conn.execute(
            select(patient_blocking_keys.c.patient_id).distinct()
            .join(patients, patients.c.patient_id == patient_blocking_keys.c.patient_id)
            .where(patient_blocking_keys.c.key.in_(sorted(keys)), patients.c.status == "active")
            .limit(MAX_CANDIDATES))
        return {r.patient_id for r in rows}

    async def _candidates(self, conn: AsyncConnection, ids: set[str]) -> list[PatientCandidate]:
        if not ids:
            return []
        rows = (await conn.execute(select(patients).where(patients.c.patient_id.in_(sorted(ids))))).all()
        links: dict[str, set[tuple[str, str]]] = {}
        for link in await conn.execute(select(patient_links).where(patient_links.c.patient_id.in_(sorted(ids)))):
            links.setdefault(link.patient_id, set()).add((link.hospital_id, link.mrn))
        return [PatientCandidate(patient_id=r.patient_id, name=r.name, birth_date=r.birth_date, sex=Sex(r.sex),
                                 phone_hash=r.phone_hash, national_id_hash=r.national_id_hash,
                                 hospital_mrns=frozenset(links.get(r.patient_id, ())))
                for r in rows]

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
