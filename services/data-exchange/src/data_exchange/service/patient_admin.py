"""Administrator actions on the patient index: merge, unmerge, and the review queue.

A merge or unmerge also rewrites the FHIR Patients of the MRNs concerned in the same transaction (their
alliance identifier; replaced-by/replaces links between one hospital's Patients): fhir_patients.after_merge.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance_messaging import proto_time
from alliance_service import EventSink, UnitOfWork

from ..adapters import fhir_patients
from ..adapters.events import TOPIC
from ..adapters.orm import match_reviews, patient_links, patient_merges, patients
from ..domain.clinical import Issue, PatientMerge, Sex
from ..domain.mpi import AlliancePatient, MergeRefused, PatientStatus, merge, unmerge


class PatientNotFound(Exception):
    pass


async def _load(conn, patient_id: str) -> AlliancePatient:
    row = (await conn.execute(select(patients).where(patients.c.patient_id == patient_id).with_for_update())).first()
    if row is None:
        raise PatientNotFound(patient_id)
    links = {(r.hospital_id, r.mrn) for r in await conn.execute(
        select(patient_links).where(patient_links.c.patient_id == patient_id))}
    return AlliancePatient(patient_id=row.patient_id, status=PatientStatus(row.status), merged_into=row.merged_into,
                           links=links, national_id_hash=row.national_id_hash,
                           national_id_masked=row.national_id_masked, name=row.name, birth_date=row.birth_date,
                           sex=Sex(row.sex), phone_hash=row.phone_hash, phone_masked=row.phone_masked,
                           insurance_hash=row.insurance_hash, national_id_from=row.national_id_from)


async def _save(conn, p: AlliancePatient) -> None:
    await conn.execute(update(patients).where(patients.c.patient_id == p.patient_id).values(
        status=p.status.value, merged_into=p.merged_into, national_id_hash=p.national_id_hash,
        national_id_masked=p.national_id_masked, national_id_from=p.national_id_from))
    if p.links:
        await conn.execute(update(patient_links).where(
            tuple_(patient_links.c.hospital_id, patient_links.c.mrn).in_(sorted(p.links)),
            patient_links.c.patient_id != p.patient_id).values(patient_id=p.patient_id))


async def merge_patients(uow: UnitOfWork, survivor_id: str, absorbed_id: str, by: str, now: datetime) -> None:
    async with uow:
        await _merge(uow.conn, uow.events, survivor_id, absorbed_id, by, now)
        await uow.commit()


async def _merge(conn, sink: EventSink, survivor_id: str, absorbed_id: str, by: str, now: datetime) -> None:
    """Merge in the caller's transaction; MergeRefused before anything is written."""
    # Lock in a fixed order so two opposite merges cannot deadlock.
    first, second = sorted((survivor_id, absorbed_id))
    loaded = {first: await _load(conn, first), second: await _load(conn, second)}
    survivor, absorbed = loaded[survivor_id], loaded[absorbed_id]
    [event] = merge(survivor, absorbed, now, by)
    await _save(conn, absorbed)       # frees the national id hash before the survivor takes it
    await _save(conn, survivor)
    await conn.execute(insert(patient_merges).values(
        survivor_id=survivor_id, absorbed_id=absorbed_id, moved_links=sorted(event.moved_links),
        national_id_moved=event.national_id_moved, merged_by=by))
    await conn.execute(update(match_reviews).where(
        match_reviews.c.provisional_patient_id == absorbed_id, match_reviews.c.status == "open")
        .values(status="resolved"))
    await fhir_patients.after_merge(conn, survivor_id, absorbed_id)
    sink.publish(TOPIC, survivor_id, pb.PatientsMerged(survivor_patient_id=survivor_id,
                                                       absorbed_patient_id=absorbed_id, by=by,
                                                       occurred_at=proto_time(now)))


async def merge_mrns(conn, sink: EventSink, record: PatientMerge, *, hospital_id: str, now: datetime,
                     survivor_of) -> Issue | None:
    """ADT^A40: the hospital says its prior MRN is the patient of its surviving MRN; merge their alliance patients.

    Both MRNs must be known. The prior MRN's patient is merged outright only when no other hospital holds
    it; otherwise the merge is put to an administrator (a review), since it would join other hospitals'
    records too. A refused merge (e.g. two national IDs) is an error naming MRG-1.
    """
    mrns = sorted({record.patient.mrn, record.prior_mrn})
    for mrn in mrns:
        await fhir_patients.lock(conn, hospital_id, mrn)
    found = {mrn: await _linked(conn, hospital_id, mrn, survivor_of) for mrn in mrns}
    survivor, prior = found[record.patient.mrn], found[record.prior_mrn]
    if survivor is None:
        return Issue("error", "not-found", "PID-3", "the surviving MRN is not known here: send the patient first")
    if prior is None:
        return Issue("error", "not-found", "MRG-1", "the prior MRN is not known here: nothing to merge")
    if prior == survivor:
        return None
    elsewhere = (await conn.execute(select(patient_links.c.hospital_id).where(
        patient_links.c.patient_id == prior, patient_links.c.hospital_id != hospital_id).limit(1))).first()
    if elsewhere is not None:
        await conn.execute(insert(match_reviews).values(
            review_id=uuid.uuid4(), hospital_id=hospital_id, mrn=record.prior_mrn, provisional_patient_id=prior,
            status="open", candidates=[{"patient_id": survivor, "score": None, "reasons": []}],
            reasons=[f"ADT^A40: {hospital_id} merged this MRN into another of its MRNs, but other hospitals "
                     "hold the patient too: an administrator merges them"]))
        return Issue("warning", "merge-needs-review", "MRG-1", "the prior MRN's patient is known to other "
                     "hospitals too: an administrator will review the merge")
    try:
        await _merge(conn, sink, survivor, prior, f"{hospital_id} (ADT^A40)", now)
    except MergeRefused as exc:
        return Issue("error", "merge-refused", "MRG-1", str(exc))
    return None


async def _linked(conn, hospital_id: str, mrn: str, survivor_of) -> str | None:
    row = (await conn.execute(select(patient_links.c.patient_id).where(
        patient_links.c.hospital_id == hospital_id, patient_links.c.mrn == mrn))).first()
    return await survivor_of(conn, row.patient_id) if row is not None else None


async def unmerge_patients(uow: UnitOfWork, survivor_id: str, absorbed_id: str, by: str, now: datetime) -> None:
    async with uow:
        first, second = sorted((survivor_id, absorbed_id))
        loaded = {first: await _load(uow.conn, first), second: await _load(uow.conn, second)}
        survivor, absorbed = loaded[survivor_id], loaded[absorbed_id]
        row = (await uow.conn.execute(select(patient_merges).where(
            patient_merges.c.survivor_id == survivor_id, patient_merges.c.absorbed_id == absorbed_id))).first()
        restore = {tuple(link) for link in row.moved_links} if row else set()
        [event] = unmerge(survivor, absorbed, restore, now, by)
        await _save(uow.conn, survivor)
        await _save(uow.conn, absorbed)
        await uow.conn.execute(delete(patient_merges).where(
            patient_merges.c.survivor_id == survivor_id, patient_merges.c.absorbed_id == absorbed_id))
        await fhir_patients.after_merge(uow.conn, survivor_id, absorbed_id)
        uow.publish(TOPIC, survivor_id, pb.PatientsUnmerged(
            survivor_patient_id=survivor_id, restored_patient_id=absorbed_id, by=by, occurred_at=proto_time(now),
            restored_mrns=[pb.HospitalMrn(hospital_id=h, mrn=m) for h, m in sorted(event.restored_links)]))
        await uow.commit()
