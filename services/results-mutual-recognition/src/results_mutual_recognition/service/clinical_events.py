"""Keeps the result index and the patient relations current from data-exchange's clinical events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.referral.v1 import referral_pb2 as referral_pb
from alliance_messaging import CloudEvent, Handler, PoisonMessage, event_type

from ..adapters.orm import merge_results, patient_merges, patient_relations, result_index
from ..domain.attribution import Placement, Provenance, ResultOrigin, split

log = logging.getLogger(__name__)


async def _standing_merge(conn: AsyncConnection, absorbed_id: str):
    """The merge that currently holds `absorbed_id` inside a survivor, if any."""
    return (await conn.execute(select(patient_merges).where(
        patient_merges.c.absorbed_id == absorbed_id, patient_merges.c.unmerged_at.is_(None))
        .order_by(patient_merges.c.merge_id.desc()).limit(1))).first()


async def _merge_chain(conn: AsyncConnection, patient_id: str) -> AsyncIterator:
    """The standing merges from a patient up to where its data belongs now, innermost first."""
    seen = {patient_id}
    while (merge := await _standing_merge(conn, patient_id)) is not None and merge.survivor_id not in seen:
        seen.add(merge.survivor_id)
        yield merge
        patient_id = merge.survivor_id


async def _survivor(conn: AsyncConnection, patient_id: str, result_id: str) -> str:
    """Where a (possibly merged) patient's result belongs now; recorded as moved by each merge it follows."""
    async for merge in _merge_chain(conn, patient_id):
        stmt = insert(merge_results).values(merge_id=merge.merge_id, result_id=result_id,
                                            provenance=Provenance.MOVED.value)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[merge_results.c.merge_id, merge_results.c.result_id],
            set_={"provenance": Provenance.MOVED.value}))
        patient_id = merge.survivor_id
    return patient_id


async def _in_a_merge(conn: AsyncConnection, patient_id: str) -> bool:
    """Whether a standing merge involves the patient, as survivor or absorbed (rarely: the common case)."""
    return (await conn.execute(select(patient_merges.c.merge_id).where(
        or_(patient_merges.c.survivor_id == patient_id, patient_merges.c.absorbed_id == patient_id),
        patient_merges.c.unmerged_at.is_(None)).limit(1))).first() is not None


async def _note_arrival(conn: AsyncConnection, patient_id: str, result_ids: list[str]) -> None:
    """Results recorded for (or restored to) a patient while it holds merged patients: an unmerge must
    decide them by MRN, as they may have come under one of the absorbed patients' MRNs."""
    merge_ids = (await conn.execute(select(patient_merges.c.merge_id).where(
        patient_merges.c.survivor_id == patient_id, patient_merges.c.unmerged_at.is_(None)))).scalars().all()
    if merge_ids and result_ids:
        await conn.execute(insert(merge_results).values([
            {"merge_id": m, "result_id": r, "provenance": Provenance.ARRIVED.value}
            for m in merge_ids for r in result_ids]).on_conflict_do_nothing())


async def _relate(conn: AsyncConnection, hospital_id: str, patient_id: str,
                  referral: tuple[str, datetime] | None = None) -> None:
    """The hospital treats this patient (and, if merged meanwhile, its survivor through it): in its own right
    (its MRN: unbounded, replacing a referral's bound), or by `referral` (id, expiry) where it has no MRN."""
    r = patient_relations.c
    bound = {"referral_id": referral[0], "expires_at": referral[1]} if referral else \
        {"referral_id": None, "expires_at": None}
    rows = [(patient_id, None)] + [(m.survivor_id, m.absorbed_id) async for m in _merge_chain(conn, patient_id)]
    for target, via in rows:
        stmt = insert(patient_relations).values(hospital_id=hospital_id, patient_id=target, via_merge_of=via,
                                                revoked_at=None, **bound)
        changes = {**bound, "revoked_at": None} | ({"via_merge_of": None} if via is None else {})
        # An own relation is never narrowed by a referral; a referral's is replaced by a newer one or by an MRN.
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[r.hospital_id, r.patient_id], set_=changes,
            where=r.referral_id.is_not(None) if referral or via is not None else None))


async def _copy_relations(conn: AsyncConnection, absorbed_id: str, survivor_id: str) -> None:
    relations = (await conn.execute(select(patient_relations.c.hospital_id, patient_relations.c.referral_id,
                                           patient_relations.c.expires_at, patient_relations.c.revoked_at).where(
        patient_relations.c.patient_id == absorbed_id))).all()
    if relations:
        await conn.execute(insert(patient_relations).values([
            {"hospital_id": x.hospital_id, "patient_id": survivor_id, "via_merge_of": absorbed_id,
             "referral_id": x.referral_id, "expires_at": x.expires_at, "revoked_at": x.revoked_at}
            for x in relations]).on_conflict_do_nothing())


def _occurred(message, event: CloudEvent) -> datetime:
    return message.occurred_at.ToDatetime(tzinfo=UTC) if message.HasField("occurred_at") else event.time


async def on_result_recorded(conn: AsyncConnection, event: CloudEvent) -> None:
    """Index a result (a corrected result replaces the line it corrects: same result id).

    A result published for a patient merged meanwhile (events are ordered per patient, not across patients)
    goes to the survivor, as the merge would have moved it.
    """
    r = event.data_as(pb.ResultRecorded)
    if not (r.result_id and r.patient_id and r.item.code and r.HasField("effective_at")):
        raise PoisonMessage("ResultRecorded without result id, patient, item or time")
    patient_id = r.patient_id
    if await _in_a_merge(conn, patient_id):        # one query on the hot path when no merge is involved
        known = (await conn.execute(select(result_index.c.result_id).where(
            result_index.c.result_id == r.result_id))).first() is not None
        if not known:          # a correction keeps what is known of where its result came from
            await _note_arrival(conn, patient_id, [r.result_id])
        patient_id = await _survivor(conn, patient_id, r.result_id)
    row = {"result_id": r.result_id, "patient_id": patient_id, "item_code": r.item.code,
           "hospital_id": r.hospital_id, "lab_id": r.lab_id or r.hospital_id, "value": r.value, "unit": r.unit,
           "effective_at": r.effective_at.ToDatetime(tzinfo=UTC),
           "report_ref": r.report_ref, "status": r.status or "F", "mrn": r.mrn or None}
    stmt = insert(result_index).values(row)
    updated = {k: stmt.excluded[k] for k in row if k not in ("result_id", "mrn")}
    updated["mrn"] = func.coalesce(stmt.excluded.mrn, result_index.c.mrn)
    await conn.execute(stmt.on_conflict_do_update(index_elements=[result_index.c.result_id], set_=updated))


async def on_patient_linked(conn: AsyncConnection, event: CloudEvent) -> None:
    """A hospital has this patient under an MRN: it is treating them and may ask about their results."""
    link = event.data_as(pb.PatientLinked)
    await _relate(conn, link.hospital_id, link.patient_id)


async def on_patients_merged(conn: AsyncConnection, event: CloudEvent) -> None:
    """Results and relations of the absorbed patient now belong to the survivor; what moved is remembered."""
    m = event.data_as(pb.PatientsMerged)
    survivor, absorbed = m.survivor_patient_id, m.absorbed_patient_id
    if not (survivor and absorbed) or survivor == absorbed:
        raise PoisonMessage("PatientsMerged without two distinct patients")
    at = _occurred(m, event)
    seen = (await conn.execute(select(patient_merges.c.merge_id).where(
        patient_merges.c.survivor_id == survivor, patient_merges.c.absorbed_id == absorbed,
        patient_merges.c.merged_at == at))).first()
    if seen is not None or await _standing_merge(conn, absorbed) is not None:
        log.warning("merge ignored: already applied, or the absorbed patient is merged elsewhere")
        return
    merge_id = (await conn.execute(insert(patient_merges).values(
        survivor_id=survivor, absorbed_id=absorbed, merged_at=at)
        .returning(patient_merges.c.merge_id))).scalar_one()
    moved = (await conn.execute(update(result_index).where(result_index.c.patient_id == absorbed)
                                .values(patient_id=survivor).returning(result_index.c.result_id))).scalars().all()
    if moved:
        await conn.execute(insert(merge_results).values([
            {"merge_id": merge_id, "result_id": r, "provenance": Provenance.MOVED.value} for r in moved]))
    await _copy_relations(conn, absorbed, survivor)


async def on_patients_unmerged(conn: AsyncConnection, event: CloudEvent) -> None:
    """Undo a merge: the results it moved, and those that came since under a restored MRN, go back.

    Applied once per merge (a replay finds the merge already undone). Recorded checks and decisions are
    history and stay as they were; a choice made from now on is judged against the results as they now stand.
    """
    u = event.data_as(pb.PatientsUnmerged)
    survivor, restored_id = u.survivor_patient_id, u.restored_patient_id
    if not (survivor and restored_id) or survivor == restored_id:
        raise PoisonMessage("PatientsUnmerged without two distinct patients")
    restored = frozenset((x.hospital_id, x.mrn) for x in u.restored_mrns) or None
    at = _occurred(u, event)
    merge = (await conn.execute(select(patient_merges).where(
        patient_merges.c.survivor_id == survivor, patient_merges.c.absorbed_id == restored_id)
        .order_by(patient_merges.c.merge_id.desc()).limit(1).with_for_update())).first()
    if merge is not None and (merge.unmerged_at is not None or (merge.merged_at and at < merge.merged_at)):
        log.info("unmerge ignored: already applied, or older than the standing merge")
        return
    if merge is None:          # merged before merges were tracked here: nothing says what moved
        merge_id, default = (await conn.execute(insert(patient_merges).values(
            survivor_id=survivor, absorbed_id=restored_id, merged_at=None, unmerged_at=at)
            .returning(patient_merges.c.merge_id))).scalar_one(), Provenance.UNKNOWN
    else:
        merge_id, default = merge.merge_id, Provenance.OWN
        await conn.execute(update(patient_merges).where(patient_merges.c.merge_id == merge_id)
                           .values(unmerged_at=at))
    rows = (await conn.execute(
        select(result_index.c.result_id, result_index.c.hospital_id, result_index.c.mrn, merge_results.c.provenance)
        .select_from(result_index.outerjoin(merge_results, and_(
            merge_results.c.result_id == result_index.c.result_id, merge_results.c.merge_id == merge_id)))
        .where(result_index.c.patient_id == survivor, result_index.c.withheld.is_(False)))).all()
    origins = [ResultOrigin(r.result_id, r.hospital_id, r.mrn,
                            Provenance(r.provenance) if r.provenance else default) for r in rows]
    placed = split(origins, restored)
    if placed[Placement.RESTORE]:
        await conn.execute(update(result_index).where(result_index.c.result_id.in_(placed[Placement.RESTORE]))
                           .values(patient_id=restored_id))
        moved_before = {o.result_id for o in origins if o.provenance is Provenance.MOVED}
        await _note_arrival(conn, restored_id, [r for r in placed[Placement.RESTORE] if r not in moved_before])
    if placed[Placement.WITHHOLD]:
        await conn.execute(update(result_index).where(result_index.c.result_id.in_(placed[Placement.WITHHOLD]))
                           .values(withheld=True))
    await conn.execute(delete(merge_results).where(merge_results.c.merge_id == merge_id))
    await conn.execute(delete(patient_relations).where(patient_relations.c.patient_id == survivor,
                                                       patient_relations.c.via_merge_of == restored_id))
    for other in (await conn.execute(select(patient_merges.c.absorbed_id).where(
            patient_merges.c.survivor_id == survivor, patient_merges.c.unmerged_at.is_(None)))).scalars().all():
        await _copy_relations(conn, other, survivor)       # a hospital it shared with another absorbed patient
    log.info("unmerge applied", extra={"fields": {
        "restored": len(placed[Placement.RESTORE]), "kept": len(placed[Placement.KEEP]),
        "withheld": len(placed[Placement.WITHHOLD]), "mrns_listed": restored is not None}})
    if placed[Placement.WITHHOLD]:
        log.warning("unmerge withheld results it could not attribute",
                    extra={"fields": {"withheld": len(placed[Placement.WITHHOLD])}})


def _referral_handlers(duration: timedelta, grace: timedelta) -> dict[str, Handler]:
    """A hospital that accepted a referral may ask about the referred patient's results, for that episode:
    until the bound data-exchange also applies (duration; completion + grace), not after a cancellation or a
    revocation."""

    async def on_referral_accepted(conn: AsyncConnection, event: CloudEvent) -> None:
        accepted = event.data_as(referral_pb.ReferralAccepted)
        if not (accepted.receiving_hospital and accepted.referral.patient_id and accepted.referral.referral_id):
            raise PoisonMessage("ReferralAccepted without receiving hospital, patient or referral")
        await _relate(conn, accepted.receiving_hospital, accepted.referral.patient_id,
                      (accepted.referral.referral_id, _occurred(accepted, event) + duration))

    async def on_referral_completed(conn: AsyncConnection, event: CloudEvent) -> None:
        completed = event.data_as(referral_pb.ReferralCompleted)
        until = _occurred(completed, event) + grace
        await conn.execute(update(patient_relations).where(
            patient_relations.c.referral_id == completed.referral.referral_id,
            patient_relations.c.expires_at > until).values(expires_at=until))

    async def on_referral_cancelled(conn: AsyncConnection, event: CloudEvent) -> None:
        cancelled = event.data_as(referral_pb.ReferralCancelled)
        await conn.execute(update(patient_relations).where(
            patient_relations.c.referral_id == cancelled.referral.referral_id,
            patient_relations.c.revoked_at.is_(None)).values(revoked_at=_occurred(cancelled, event)))

    async def on_patient_access_revoked(conn: AsyncConnection, event: CloudEvent) -> None:
        """data-exchange revoked the grant (administrator or referring hospital): the relation ends too."""
        revoked = event.data_as(pb.PatientAccessRevoked)
        if not (revoked.referral_id and revoked.hospital_id):
            raise PoisonMessage("PatientAccessRevoked without referral or hospital")
        await conn.execute(update(patient_relations).where(
            patient_relations.c.referral_id == revoked.referral_id,
            patient_relations.c.hospital_id == revoked.hospital_id,
            patient_relations.c.revoked_at.is_(None)).values(revoked_at=_occurred(revoked, event)))

    return {event_type(pb.PatientAccessRevoked): on_patient_access_revoked,
            event_type(referral_pb.ReferralAccepted): on_referral_accepted,
            event_type(referral_pb.ReferralCompleted): on_referral_completed,
            event_type(referral_pb.ReferralCancelled): on_referral_cancelled}


REFERRAL_TOPIC = "alliance.referral.v1"


def handlers(duration: timedelta = timedelta(days=30), grace: timedelta = timedelta(days=3)) -> dict[str, Handler]:
    return {event_type(pb.ResultRecorded): on_result_recorded, event_type(pb.PatientLinked): on_patient_linked,
            event_type(pb.PatientsMerged): on_patients_merged, event_type(pb.PatientsUnmerged): on_patients_unmerged,
            } | _referral_handlers(duration, grace)
