"""HL7 v2 in, ACK out: parse, de-duplicate, validate, normalise, ingest — the ACK tells the sender what happened."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from alliance_messaging import dependency_of
from alliance_service import UnitOfWork
from alliance_telemetry import OUTAGES

from ..adapters.orm import inbound_messages
from ..adapters.repository import hospital_for_facility
from ..domain.clinical import Issue
from ..hl7 import (
    Hl7Error,
    build_ack,
    check_header,
    check_structure,
    parse,
    system_error_ack,
    to_records,
)
from .ingest import PatientIndex, ingest

PROTOCOL = "hl7v2"
log = logging.getLogger(__name__)


def system_failure_ack(raw: bytes, exc: BaseException, *, now: datetime) -> bytes:
    """The AR (ERR-3 207, resend unchanged) for a message whose handling failed for a system reason.

    A lost database counts towards the outage summary (one log line per outage, not per message); any
    other failure is an internal error, logged with its traceback.
    """
    if (dependency := dependency_of(exc)) is not None:
        cause = dependency
        OUTAGES.failed(dependency, exc)
    elif isinstance(exc, TimeoutError):
        cause = "timeout"
        log.warning("HL7 message handling timed out; answered AR (resend unchanged)")
    else:
        cause = "internal"
        log.error("HL7 message handling failed", exc_info=exc)
    return system_error_ack(raw, cause, control_id=uuid.uuid4().hex[:20], now=now)


def _ack_code(errors: list[Hl7Error]) -> str:
    return "AR" if any(e.ack_code == "AR" for e in errors) else "AE"


def _issue_errors(issues: list[Issue]) -> list[Hl7Error]:
    """Data-quality and mapping findings as ERR segments (errors E, warnings W)."""
    out = []
    for i in issues:
        segment, _, field = i.location.partition("-")
        out.append(Hl7Error(reason=i.message, code=207 if i.severity == "error" else 103,
                            segment=segment or None, field=int(field) if field.isdigit() else None,
                            severity="E" if i.severity == "error" else "W"))
    return out


async def handle_message(raw: bytes, make_uow, patients: PatientIndex, *, now: datetime,
                         sender_charsets: Mapping[str, str] | None = None, default_charset: str = "utf-8",
                         allowed_hospital: str | None = None) -> bytes:
    """One message → one ACK. Re-sent messages (same facility + MSH-10) get the first ACK again."""
    ack_id = uuid.uuid4().hex[:20]
    try:
        msg = parse(raw, sender_charsets=sender_charsets, default_charset=default_charset)
    except Hl7Error as exc:
        return build_ack(None, "AR", [exc], control_id=ack_id, now=now, raw=raw)
    try:
        check_header(msg)
    except Hl7Error as exc:
        return build_ack(msg, exc.ack_code, [exc], control_id=ack_id, now=now)

    uow: UnitOfWork = make_uow()
    async with uow:
        previous = await _previous_ack(uow, msg.sending_facility, msg.control_id)
        if previous is not None:
            return previous
        hospital_id = await hospital_for_facility(uow.conn, msg.sending_facility)
        if hospital_id is None or (allowed_hospital is not None and hospital_id != allowed_hospital):
            err = Hl7Error(reason=f"sending facility {msg.sending_facility!r} is not a member hospital "
                                  "(or not yours)", code=204, segment="MSH", field=4)
            return build_ack(msg, "AR", [err], control_id=ack_id, now=now)
        try:
            check_structure(msg)
            records, warnings = to_records(msg)
        except Hl7Error as exc:
            ack = build_ack(msg, exc.ack_code, [exc], control_id=ack_id, now=now)
            await _remember(uow, msg, hospital_id, "rejected", ack, [exc.reason])
            await uow.commit()
            return ack
        outcome = await ingest(uow.conn, uow.events, records, hospital_id=hospital_id, source=PROTOCOL,
                               patients=patients, now=now)
        issues = warnings + outcome.issues
        errs = _issue_errors(issues)
        if outcome.accepted:
            ack = build_ack(msg, "AA", errs, control_id=ack_id, now=now,
                            text=f"{outcome.held} record(s) held for unmapped codes" if outcome.held else "")
            await _remember(uow, msg, hospital_id, "accepted", ack, [i.message for i in issues])
        else:
            ack = build_ack(msg, "AE", errs, control_id=ack_id, now=now)
            uow.events.discard()
            await _remember(uow, msg, hospital_id, "rejected", ack, [i.message for i in issues])
        await uow.commit()
        return ack


async def _previous_ack(uow: UnitOfWork, facility: str, control_id: str) -> bytes | None:
    """The ACK already given for this message; concurrent copies queue on a lock and see the first one's."""
    row = (await uow.conn.execute(text(
        "SELECT pg_advisory_xact_lock(hashtextextended(:k, 0)), "
        "(SELECT ack FROM inbound_messages WHERE protocol = :p AND sending_facility = :f AND control_id = :c)"),
        {"k": f"{PROTOCOL}|{facility}|{control_id}", "p": PROTOCOL, "f": facility, "c": control_id})).first()
    return row[1] if row else None


async def _remember(uow: UnitOfWork, msg, hospital_id: str, status: str, ack: bytes, issues: list[str]) -> None:
    await uow.conn.execute(insert(inbound_messages).values(
        message_id=uuid.uuid4(), protocol=PROTOCOL, sending_facility=msg.sending_facility,
        control_id=msg.control_id, hospital_id=hospital_id,
        message_type=f"{msg.message_type}^{msg.trigger_event}", status=status, ack=ack, issues=issues))
