"""In-stay DRG monitoring that runs by itself: admission opens a stay, updates move its cost, discharge closes it.

Each handler runs in the consumer's transaction: it loads the stay (row lock), lets the pure ``Stay`` decide, stores
the stay, writes the alerts to the warnings board and publishes them. A redelivered event is stopped by the inbox;
a replayed one (new event id, same facts) by the stay itself (snapshots older than the one held change nothing,
each threshold is crossed once) and by the board's per-stay unique index.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.cost_sharing.v1 import settlement_pb2 as cs
from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance_messaging import CloudEvent, Handler, PoisonMessage, event_type, proto_time
from alliance_service import Runtime

from ..adapters import ledger_store
from ..adapters.orm import cost_warnings, monitored_stays
from ..domain.ledger import period_of
from ..domain.stay_monitor import Stage, Stay, StayAlert, StayClosed, StayError, StayFacts
from ..domain.warnings import ANSWER_WORKING_DAYS, WarningState, add_working_days
from . import settlement

TOPIC = ledger_store.TOPIC
INDICATOR = "drg_cost"
CLOSED_BY = "discharge"


def _time(ts) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def _stay_of(row) -> Stay:
    return Stay(row.encounter_id, row.hospital_id, admitted_at=row.admitted_at, department=row.department,
                principal_dx=row.principal_dx, secondary_dx=tuple(row.secondary_dx), procedures=tuple(row.procedures),
                cost_fen=row.cost_fen, as_of=row.as_of, drg=row.drg, table_version=row.table_version,
                standard_cost_fen=row.standard_cost_fen,
                crossed={Stage(k): datetime.fromisoformat(v) for k, v in row.crossed.items()},
                discharged_at=row.discharged_at)


def _row_of(stay: Stay, patient_id: str) -> dict:
    return {"encounter_id": stay.encounter_id, "patient_id": patient_id, "hospital_id": stay.hospital_id,
            "department": stay.department, "admitted_at": stay.admitted_at, "principal_dx": stay.principal_dx,
            "secondary_dx": list(stay.secondary_dx), "procedures": list(stay.procedures), "cost_fen": stay.cost_fen,
            "as_of": stay.as_of, "drg": stay.drg, "table_version": stay.table_version,
            "standard_cost_fen": stay.standard_cost_fen,
            "crossed": {k.value: v.isoformat() for k, v in stay.crossed.items()}, "discharged_at": stay.discharged_at}


async def _load(conn: AsyncConnection, encounter_id: str) -> Stay | None:
    row = (await conn.execute(select(monitored_stays).where(monitored_stays.c.encounter_id == encounter_id)
                              .with_for_update())).first()
    return _stay_of(row) if row is not None else None


async def _save(conn: AsyncConnection, stay: Stay, patient_id: str) -> None:
    row = _row_of(stay, patient_id)
    stmt = pg_insert(monitored_stays).values(row)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["encounter_id"],
                                                  set_={k: stmt.excluded[k] for k in row if k != "encounter_id"}))


def _facts(m, at: datetime) -> StayFacts:
    """The stay's coding and cost from an EncounterUpdated or EncounterDischarged."""
    if m.total_cost_fen < 0 or any(c.amount_fen < 0 for c in m.cost_lines):
        raise PoisonMessage(f"negative cost in {type(m).__name__}")
    cost = m.total_cost_fen or sum(c.amount_fen for c in m.cost_lines)
    try:
        return StayFacts(at, cost, next((d.code.code for d in m.diagnoses if d.principal), ""),
                         tuple(d.code.code for d in m.diagnoses if not d.principal),
                         tuple(p.code.code for p in m.procedures), m.department.code)
    except StayError as exc:
        raise PoisonMessage(f"stay facts are invalid: {exc}") from exc


def _new_stay(m) -> Stay:
    try:
        return Stay(m.encounter_id, m.hospital_id, admitted_at=_time(m.admitted_at) if m.HasField("admitted_at")
                    else None, department=m.department.code)
    except StayError as exc:
        raise PoisonMessage(f"stay is invalid: {exc}") from exc


async def _raise(conn: AsyncConnection, alert: StayAlert, publish) -> None:
    """Put the alert on the warnings board and publish it, once."""
    due = add_working_days(alert.at, ANSWER_WORKING_DAYS)
    message = alert.message()
    done = await conn.execute(pg_insert(cost_warnings).values(
        warning_id=alert.alert_id, hospital_id=alert.hospital_id, period=period_of(alert.at), indicator=INDICATOR,
        level=alert.level, value=alert.ratio, threshold=alert.threshold, message=message,
        state=WarningState.RAISED.value, raised_at=alert.at, answer_due=due, encounter_id=alert.encounter_id,
        department=alert.department or None, stage=alert.stage.value).on_conflict_do_nothing()
        .returning(cost_warnings.c.warning_id))
    if done.first() is None:
        return
    publish(TOPIC, alert.hospital_id, cs.WarningRaised(
        warning_id=alert.alert_id, hospital_id=alert.hospital_id, period=period_of(alert.at), indicator=INDICATOR,
        level=alert.level, value=str(alert.ratio), threshold=str(alert.threshold), message=message,
        answer_due=proto_time(due), occurred_at=proto_time(alert.at)))
    publish(TOPIC, alert.hospital_id, cs.StayCostAlerted(
        alert_id=alert.alert_id, encounter_id=alert.encounter_id, hospital_id=alert.hospital_id,
        department=alert.department, stage=alert.stage.value, drg=alert.drg, table_version=alert.table_version,
        standard_cost_fen=alert.standard_cost_fen, cost_fen=alert.cost_fen, ratio=str(alert.ratio),
        threshold=str(alert.threshold), occurred_at=proto_time(alert.at)))


async def _close(conn: AsyncConnection, closed: StayClosed, publish) -> None:
    """Close the stay's in-stay warnings still open on the board, and say the stay is closed."""
    ids = []
    if closed.closed_alerts:
        ids = (await conn.execute(update(cost_warnings).where(
            cost_warnings.c.warning_id.in_(closed.closed_alerts),
            cost_warnings.c.state != WarningState.CLOSED.value).values(
            state=WarningState.CLOSED.value, closed_by=CLOSED_BY, closed_at=closed.at,
            note=f"the stay was discharged at {closed.ratio} of its DRG standard")
            .returning(cost_warnings.c.warning_id))).scalars().all()
    for warning_id in sorted(ids):
        publish(TOPIC, closed.hospital_id, cs.WarningClosed(warning_id=warning_id, hospital_id=closed.hospital_id,
                                                            closed_by=CLOSED_BY, occurred_at=proto_time(closed.at)))
    publish(TOPIC, closed.hospital_id, cs.StayMonitoringClosed(
        encounter_id=closed.encounter_id, hospital_id=closed.hospital_id, department=closed.department,
        drg=closed.drg or "", standard_cost_fen=closed.standard_cost_fen or 0, cost_fen=closed.cost_fen,
        ratio=str(closed.ratio) if closed.ratio is not None else "", closed_alert_ids=list(closed.closed_alerts),
        occurred_at=proto_time(closed.at)))


def _required(m, time_field: str) -> None:
    if not m.encounter_id or not m.patient_id or not m.hospital_id or not m.HasField(time_field):
        raise PoisonMessage(f"{type(m).__name__} without encounter, patient, hospital or {time_field}")


async def on_encounter_admitted(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """An inpatient admission opens the stay's monitoring (an outpatient visit is not followed)."""
    m = event.data_as(dx.EncounterAdmitted)
    _required(m, "admitted_at")
    if m.patient_class != "I" or await _load(conn, m.encounter_id) is not None:
        return
    await _save(conn, _new_stay(m), m.patient_id)


async def on_encounter_updated(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """The stay so far: regroup it, and raise the thresholds its cost crosses for the first time."""
    m = event.data_as(dx.EncounterUpdated)
    _required(m, "as_of")
    if m.patient_class not in ("", "I"):
        return
    stay = await _load(conn, m.encounter_id) or _new_stay(m)
    facts = _facts(m, _time(m.as_of))
    alerts = stay.record(facts, await settlement.table_in_force(conn, facts.as_of.date()))
    await _save(conn, stay, m.patient_id)
    for alert in alerts:
        await _raise(conn, alert, publish)


async def close_stay(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """Discharge closes the stay and its in-stay warnings; above 130% of the standard raises the discharge alert."""
    m = event.data_as(dx.EncounterDischarged)
    _required(m, "discharged_at")
    if (m.patient_class or "I") != "I":
        return
    stay = await _load(conn, m.encounter_id) or _new_stay(m)
    facts = _facts(m, _time(m.discharged_at))
    outcome = stay.discharge(facts, await settlement.table_in_force(conn, facts.as_of.date()))
    if not outcome:
        return
    await _save(conn, stay, m.patient_id)
    for item in outcome:
        if isinstance(item, StayAlert):
            await _raise(conn, item, publish)
        else:
            await _close(conn, item, publish)


async def on_encounter_discharged(conn: AsyncConnection, event: CloudEvent, publish) -> None:
    """Settlement's discharge handling, then the stay's closure, in one transaction."""
    await settlement.on_encounter_discharged(conn, event, publish)
    await close_stay(conn, event, publish)


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """The monitoring's handlers (the discharge one wraps settlement's)."""
    return {event_type(dx.EncounterAdmitted): settlement._bind(runtime, on_encounter_admitted),
            event_type(dx.EncounterUpdated): settlement._bind(runtime, on_encounter_updated),
            event_type(dx.EncounterDischarged): settlement._bind(runtime, on_encounter_discharged)}
