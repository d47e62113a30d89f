"""Settlement that happens by itself: referral episodes, DRG grouping of discharges, recognition savings.

Every effect is keyed so a replay changes nothing: the ledger's unique `reference` (one entry per
episode encounter, per recognition decision), `drg_cases.case_id`, and the consumer's processed-events inbox.
Events from different topics arrive in any order: a discharge that lands after its referral's completion
is settled when it arrives, one that lands before waits in `encounters` for the completion.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.cost_sharing.v1 import settlement_pb2 as cs
from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance.procurement.v1 import procurement_pb2 as pr
from alliance.referral.v1 import referral_pb2 as rf
from alliance.results_mutual_recognition.v1 import recognition_pb2 as rmr
from alliance_messaging import (
    BatchHandler,
    CloudEvent,
    Handler,
    PoisonMessage,
    event_type,
    proto_time,
)
from alliance_service import EventSink, Runtime

from ..adapters import ledger_store
from ..adapters.orm import (
    drg_cases,
    drg_tables,
    encounters,
    recognition_decisions,
    referral_episodes,
    settled_encounters,
)
from ..domain import drg
from ..domain.ledger import EntryDraft, Leg, period_of
from ..domain.settlement import EncounterCost, ReferralFacts, ReferralPolicy, settle_referral

TOPIC = ledger_store.TOPIC
SUBSCRIPTIONS = ["alliance.data_exchange.v1", "alliance.referral.v1", "alliance.results_mutual_recognition.v1",
                 "alliance.procurement.v1"]
POLICY = ReferralPolicy()
RECOGNITION_ISSUER_SHARE = Decimal("0.5")   # of a saving, to the lab that did the work; the rest to the reuser


class _Sink:
    """Adapter so handlers running on the consumer's connection can post and publish like a unit of work."""

    def __init__(self, conn: AsyncConnection, publish) -> None:
        self.conn, self.publish = conn, publish


def _time(ts) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def _cost(row) -> EncounterCost:
    return EncounterCost(row.encounter_id, row.hospital_id, row.patient_class, row.total_fen, row.discharged_at)


def _facts(row) -> ReferralFacts:
    return ReferralFacts(row.referral_id, row.patient_id, row.direction, row.origin_hospital, row.receiving_hospital,
                         row.requested_at, row.completed_at)


def _drafts(episode, costs: list[EncounterCost]) -> list[tuple[str, str, EntryDraft]]:
    """(encounter id, referral id, ledger draft) for each encounter the episode settles."""
    out = []
    for cost in costs:
        for draft in settle_referral(_facts(episode), [cost], POLICY).entries:
            out.append((cost.encounter_id, episode.referral_id,
                        dataclasses.replace(draft, reference=f"referral:{episode.referral_id}:{cost.encounter_id}")))
    return out


async def _claim_and_post(sink, drafts: list[tuple[str, str, EntryDraft]], now: datetime) -> int:
    """Each encounter is settled by the first referral that claims it (a constraint); post those drafts once."""
    if not drafts:
        return 0
    await sink.conn.execute(pg_insert(settled_encounters).values(
        [{"encounter_id": e, "referral_id": r} for e, r in dict((e, r) for e, r, _ in reversed(drafts)).items()])
        .on_conflict_do_nothing())
    owner = dict((await sink.conn.execute(select(settled_encounters.c.encounter_id, settled_encounters.c.referral_id)
                                          .where(settled_encounters.c.encounter_id.in_({e for e, _, _ in drafts}))
                                          )).all())
    # a replayed referral finds its encounters claimed by itself: post_entries skips references already posted
    posted = await ledger_store.post_entries(sink, [d for e, r, d in drafts if owner.get(e) == r], now)
    return sum(leg.credit_fen for e in posted for leg in e.legs)


async def settle_episode(sink, episode, costs: list[EncounterCost], now: datetime) -> int:
    """Post each encounter of the episode once, and each encounter only once across referrals; fen settled."""
    return await _claim_and_post(sink, _drafts(episode, costs), now)


def _episode_row(event: CloudEvent) -> dict:
    m = event.data_as(rf.ReferralCompleted)
    ref = m.referral
    if not ref.referral_id or not ref.patient_id or not m.receiving_hospital or not m.HasField("occurred_at"):
        raise PoisonMessage("ReferralCompleted without referral id, patient, receiving hospital or time")
    requested = _time(m.requested_at) if m.HasField("requested_at") else _time(m.occurred_at)
    return {"referral_id": ref.referral_id, "patient_id": ref.patient_id, "direction": ref.direction or "up",
            "origin_hospital": ref.origin_hospital, "receiving_hospital": m.receiving_hospital,
            "requested_at": requested, "completed_at": _time(m.occurred_at)}


async def on_referral_completed(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """Record the episode and settle the encounter costs already known for it."""
    await on_referrals_completed(conn, [event], publish)


async def on_referrals_completed(conn: AsyncConnection, events: list[CloudEvent], publish) -> None:
    """Record a run of completions and settle their known encounters with a few statements for the whole run."""
    rows = list({r["referral_id"]: r for r in (_episode_row(e) for e in events)}.values())
    await conn.execute(pg_insert(referral_episodes).values(rows).on_conflict_do_nothing())
    ids = [r["referral_id"] for r in rows]
    episodes = {e.referral_id: e for e in (await conn.execute(
        select(referral_episodes).where(referral_episodes.c.referral_id.in_(ids)))).all()}
    stays: dict[str, list[EncounterCost]] = {}
    for r in (await conn.execute(select(encounters).where(
            encounters.c.patient_id.in_({e.patient_id for e in episodes.values()})))).all():
        stays.setdefault(r.patient_id, []).append(_cost(r))
    drafts = []
    for referral_id in ids:        # in arrival order: the earlier completion claims a shared encounter
        ep = episodes[referral_id]
        mine = [c for c in stays.get(ep.patient_id, []) if c.hospital_id in (ep.origin_hospital, ep.receiving_hospital)]
        drafts += _drafts(ep, sorted(mine, key=lambda c: c.encounter_id))
    await _claim_and_post(_Sink(conn, publish), drafts, datetime.now(UTC))


async def on_encounter_discharged(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """Keep the stay's costs, group it into a DRG, and settle it if a completed referral covers it."""
    m = event.data_as(dx.EncounterDischarged)
    if not m.encounter_id or not m.patient_id or not m.hospital_id or not m.HasField("discharged_at"):
        raise PoisonMessage("EncounterDischarged without encounter, patient, hospital or discharge time")
    if m.total_cost_fen < 0 or any(c.amount_fen < 0 for c in m.cost_lines):
        raise PoisonMessage("negative cost in EncounterDischarged")
    discharged = _time(m.discharged_at)
    principal = next((d.code.code for d in m.diagnoses if d.principal), "")
    row = {"encounter_id": m.encounter_id, "patient_id": m.patient_id, "hospital_id": m.hospital_id,
           "patient_class": m.patient_class or "I", "department": m.department.code or "unknown",
           "admitted_at": _time(m.admitted_at) if m.HasField("admitted_at") else None,
           "discharged_at": discharged, "los_days": max(m.length_of_stay_days, 0), "principal_dx": principal,
           "secondary_dx": [d.code.code for d in m.diagnoses if not d.principal],
           "procedures": [p.code.code for p in m.procedures], "total_fen": m.total_cost_fen,
           "drugs_fen": sum(c.amount_fen for c in m.cost_lines if c.category == "drugs"),
           "consumables_fen": sum(c.amount_fen for c in m.cost_lines if c.category == "consumables"),
           "period": period_of(discharged)}
    stmt = pg_insert(encounters).values(row)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["encounter_id"],
                                                  set_={k: stmt.excluded[k] for k in row if k != "encounter_id"}))
    now = datetime.now(UTC)
    sink = _Sink(conn, publish)
    if row["patient_class"] == "I" and principal:
        await group_and_record(sink, row, now)
    episodes = (await conn.execute(select(referral_episodes).where(
        referral_episodes.c.patient_id == m.patient_id,
        (referral_episodes.c.origin_hospital == m.hospital_id)
        | (referral_episodes.c.receiving_hospital == m.hospital_id)))).all()
    for episode in episodes:
        await settle_episode(sink, episode, [EncounterCost(m.encounter_id, m.hospital_id, row["patient_class"],
                                                           m.total_cost_fen, discharged)], now)


async def table_in_force(conn: AsyncConnection, on) -> drg.RuleTable | None:
    body = (await conn.execute(select(drg_tables.c.body).where(drg_tables.c.effective_from <= on)
                               .order_by(drg_tables.c.effective_from.desc(), drg_tables.c.version.desc())
                               .limit(1))).scalar()
    return drg.load_rule_table(body) if body is not None else None


def case_of(row) -> drg.Case:
    return drg.Case(case_id=row["encounter_id"], hospital_id=row["hospital_id"], department=row["department"],
                    payer="default", principal_dx=row["principal_dx"], secondary_dx=tuple(row["secondary_dx"]),
                    procedures=tuple(row["procedures"]), los_days=row["los_days"], total_cost_fen=row["total_fen"])


def grouping_json(g: drg.Grouping) -> dict:
    out = dataclasses.asdict(g)
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in out.items()}


async def group_and_record(sink, row: dict, now: datetime) -> None:
    """Group an inpatient stay under the DRG table in force on its discharge day (once per case)."""
    table = await table_in_force(sink.conn, row["discharged_at"].date())
    if table is None:
        return
    try:
        g = drg.group_case(table, case_of(row))
    except drg.CaseError as exc:
        raise PoisonMessage(f"case cannot be grouped: {exc}") from exc
    done = await sink.conn.execute(pg_insert(drg_cases).values(
        case_id=g.case_id, hospital_id=row["hospital_id"], department=row["department"], period=row["period"],
        table_version=g.table_version, drg=g.drg, payment_fen=g.payment_fen, total_cost_fen=row["total_fen"],
        outlier=g.outlier, needs_two_approvals=g.needs_two_approvals, grouping=grouping_json(g), grouped_at=now)
        .on_conflict_do_nothing().returning(drg_cases.c.case_id))
    if done.first() is not None:
        sink.publish(TOPIC, row["hospital_id"], cs.CaseGrouped(
            case_id=g.case_id, hospital_id=row["hospital_id"], drg=g.drg or "",
            relative_weight=str(g.relative_weight or ""), payment_fen=g.payment_fen, total_cost_fen=row["total_fen"],
            outlier=g.outlier or "", needs_two_approvals=g.needs_two_approvals, table_version=g.table_version,
            occurred_at=proto_time(now)))


async def on_recognition_decided(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """A reused result saved money: credit the issuing lab's hospital and the reusing hospital from the fund."""
    m = event.data_as(rmr.RecognitionDecided)
    if not m.decision_id or not m.HasField("occurred_at") or m.saving_fen < 0:
        raise PoisonMessage("RecognitionDecided without decision id or time, or with a negative saving")
    await conn.execute(pg_insert(recognition_decisions).values(
        decision_id=m.decision_id, requesting_hospital=m.requesting_hospital, issuing_hospital=m.issuing_hospital,
        outcome=m.outcome, saving_fen=m.saving_fen, period=period_of(_time(m.occurred_at))).on_conflict_do_nothing())
    if m.outcome != "reused" or m.saving_fen <= 0 or not m.issuing_hospital or not m.requesting_hospital:
        return
    issuer = int((Decimal(m.saving_fen) * RECOGNITION_ISSUER_SHARE).to_integral_value())
    legs = [Leg("fund:collaboration", debit_fen=m.saving_fen)]
    if m.issuing_hospital == m.requesting_hospital:
        legs.append(Leg(f"hospital:{m.issuing_hospital}", credit_fen=m.saving_fen))
    else:
        legs += [leg for leg in (Leg(f"hospital:{m.issuing_hospital}", credit_fen=issuer),
                                 Leg(f"hospital:{m.requesting_hospital}", credit_fen=m.saving_fen - issuer))
                 if leg.credit_fen]
    occurred = _time(m.occurred_at)
    await ledger_store.post_entry(_Sink(conn, publish), EntryDraft(
        kind="recognition_saving", reference=f"recognition:{m.decision_id}", period=period_of(occurred),
        legs=tuple(legs), memo=f"result {m.result_id} reused for item {m.item_code}: saving shared "
                               f"{RECOGNITION_ISSUER_SHARE} to the issuing hospital", occurred_at=occurred),
        datetime.now(UTC))


async def on_overrun_attributed(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """A procurement overrun is borne by whom procurement attributed it to (the hospital in full, or shared)."""
    m = event.data_as(pr.OverrunAttributed)
    if not m.attribution_id or not m.hospital_id or m.overrun_fen <= 0 or not m.HasField("occurred_at"):
        raise PoisonMessage("OverrunAttributed without id, hospital, amount or time")
    if m.hospital_fen + m.supplier_fen != m.overrun_fen:
        raise PoisonMessage("OverrunAttributed shares do not sum to the overrun")
    supplier = m.contract_id.split("/")[-1] if m.contract_id else "unknown"
    legs = tuple(leg for leg in (Leg(f"hospital:{m.hospital_id}", debit_fen=m.hospital_fen),
                                 Leg(f"supplier:{supplier}", debit_fen=m.supplier_fen),
                                 Leg("fund:procurement", credit_fen=m.overrun_fen)) if leg.debit_fen or leg.credit_fen)
    occurred = _time(m.occurred_at)
    await ledger_store.post_entry(_Sink(conn, publish), EntryDraft(
        kind="procurement_overrun", reference=f"overrun:{m.attribution_id}", period=period_of(occurred), legs=legs,
        memo=f"contract {m.contract_id}: overrun caused by {m.cause}", occurred_at=occurred), datetime.now(UTC))


def _bind(runtime: Runtime, fn):
    """A handler whose published events become outbox rows in the consumer's own transaction."""
    async def handle(conn: AsyncConnection, event_or_events) -> None:
        sink = EventSink(runtime.spec.tables.outbox, runtime.source, runtime.settings.topic_prefix)
        await fn(conn, event_or_events, sink.publish)
        if await sink.flush(conn):
            runtime.relay.notify()
    return handle


def batch_handlers(runtime: Runtime) -> dict[str, BatchHandler]:
    """Completions arriving together are settled together (one lock of the ledger head per run)."""
    return {event_type(rf.ReferralCompleted): _bind(runtime, on_referrals_completed)}


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Handlers whose published events become outbox rows in the consumer's own transaction."""
    def bind(fn):
        return _bind(runtime, fn)

    return {event_type(rf.ReferralCompleted): bind(on_referral_completed),
            event_type(dx.EncounterDischarged): bind(on_encounter_discharged),
            event_type(rmr.RecognitionDecided): bind(on_recognition_decided),
            event_type(pr.OverrunAttributed): bind(on_overrun_attributed)}
