"""The Patient resources in `fhir_resources`: one per hospital + MRN, found by the MRN token, kept current."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, select, text, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.clinical import PatientIdentity
from ..domain.mpi import IdentifierKind, IdentifierProtector
from ..domain.mpi_identifiers import (
    canonical_resident_id,
    mask_national_id,
    mask_phone,
    normalise_phone,
)
from ..fhir import derived, systems
from ..fhir import patient as fhir_patient
from .orm import fhir_resources, patient_links, patient_merges


class MrnTaken(Exception):
    """A Patient written under another id than the one its hospital's MRN already has."""

    def __init__(self, existing_id: str) -> None:
        super().__init__(f"this MRN already has Patient/{existing_id}; write that one (one Patient per MRN)")
        self.existing_id = existing_id


async def lock(conn: AsyncConnection, hospital_id: str, mrn: str) -> None:
    """The patient index's lock of (hospital, MRN): writers of one MRN's Patient queue behind each other."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                       {"k": f"mrn|{hospital_id}|{mrn}"})


async def find(conn: AsyncConnection, hospital_id: str, mrn: str) -> Row | None:
    """The Patient of (hospital, MRN), locked for update; None when there is none yet."""
    return (await conn.execute(select(fhir_resources).where(
        fhir_resources.c.resource_type == "Patient", fhir_resources.c.hospital_id == hospital_id,
        type_coerce(fhir_resources.c.identifiers, ARRAY(Text)).contains([fhir_patient.mrn_token(hospital_id, mrn)]))
        .order_by(fhir_resources.c.id).limit(1).with_for_update())).first()


async def adopt(conn: AsyncConnection, resource_id: str) -> None:
    """A derived Patient becomes the hospital's own (a FHIR create or update of the same MRN replaces it)."""
    await conn.execute(fhir_resources.update().where(
        fhir_resources.c.resource_type == "Patient", fhir_resources.c.id == resource_id).values(derived_from=None))


def _protected(identity: PatientIdentity, protector: IdentifierProtector | None) -> tuple[fhir_patient.Demographics,
                                                                                    str | None]:
    """Demographics with the national ID and phone masked, and the national ID's hashed search token."""
    national = canonical_resident_id(identity.national_id)
    phone = normalise_phone(identity.phone)
    if protector is None:
        national = phone = None               # a stored record keeps only the MRN: nothing else to refresh
    token = f"{systems.NATIONAL_ID}|#{protector.hash(IdentifierKind.NATIONAL_ID, national)}" \
        if national and protector is not None else None
    return fhir_patient.Demographics(
        mrn=identity.mrn.strip(), national_id_masked=mask_national_id(national) if national else None,
        insurance_number=(identity.insurance_number or "").strip() or None, name=(identity.name or "").strip() or None,
        birth_date=identity.birth_date, sex=identity.sex, phone_masked=mask_phone(phone) if phone else None), token


async def _write(conn: AsyncConnection, existing: Row | None, body: dict[str, Any], tokens: list[str], *,
                 hospital_id: str, patient_id: str, derived_from: str | None) -> int:
    """Insert or update one Patient row; the version goes up only when its content changed."""
    if existing is not None:
        before = {k: v for k, v in existing.body.items() if k != "meta"}
        if before == body and existing.patient_id == patient_id and sorted(existing.identifiers) == sorted(tokens):
            return existing.version
    version = existing.version + 1 if existing is not None else 1
    meta: dict[str, Any] = {"versionId": str(version), "lastUpdated": datetime.now().astimezone().isoformat()}
    if derived_from is not None:
        meta |= derived.meta(hospital_id)
    body = {**body, "meta": meta}
    values = {"resource_type": "Patient", "id": body["id"], "hospital_id": hospital_id, "patient_id": patient_id,
              "version": version, "body": body, "identifiers": tokens, "codes": [], "effective_at": None,
              "derived_from": derived_from}
    stmt = insert(fhir_resources).values(values)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[fhir_resources.c.resource_type, fhir_resources.c.id],
        set_={k: stmt.excluded[k] for k in values if k not in ("resource_type", "id")} | {"updated_at": text("now()")}))
    return version


async def save_from_hl7(conn: AsyncConnection, protector: IdentifierProtector | None, identity: PatientIdentity, *,
                        hospital_id: str, patient_id: str) -> str:
    """Create or refresh the Patient of an HL7 v2 PID; returns its id (the one that exists, whichever door)."""
    facts, national_token = _protected(identity, protector)
    await lock(conn, hospital_id, facts.mrn)
    existing = await find(conn, hospital_id, facts.mrn)
    key = fhir_patient.patient_key(hospital_id, facts.mrn)
    resource_id = existing.id if existing is not None else derived.derived_id(key)
    body = fhir_patient.from_demographics(existing.body if existing is not None else None, facts,
                                         hospital_id=hospital_id, resource_id=resource_id,
                                         alliance_id=patient_id)
    tokens = fhir_patient.tokens_of(body, existing.identifiers if existing is not None else (), national_token)
    derived_from = existing.derived_from if existing is not None else key
    await _write(conn, existing, body, tokens, hospital_id=hospital_id,
                 patient_id=existing.patient_id if existing is not None and existing.patient_id else patient_id,
                 derived_from=derived_from)
    return resource_id


async def patient_ids(conn: AsyncConnection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """The alliance patient ids resources were filed under, by (type, id)."""
    if not keys:
        return {}
    rows = await conn.execute(select(fhir_resources.c.resource_type, fhir_resources.c.id,
                                     fhir_resources.c.patient_id).where(
        fhir_resources.c.resource_type.in_({t for t, _ in keys}), fhir_resources.c.id.in_({i for _, i in keys})))
    return {(r.resource_type, r.id): r.patient_id for r in rows}


async def after_merge(conn: AsyncConnection, *patient_ids_changed: str) -> int:
    """Bring the Patients of these alliance patients' MRNs in line with the index after a merge or unmerge.

    Each Patient shows the alliance id its MRN is linked to now. Within one hospital, a Patient whose MRN
    came by a merge is inactive and replaced-by the Patient of the survivor's own MRN there (if it has one),
    which lists it as replaces. Returns the number of Patients rewritten.
    """
    links = (await conn.execute(select(patient_links).where(
        patient_links.c.patient_id.in_(patient_ids_changed)))).all()
    merged_in: set[tuple[str, str]] = set()
    for row in await conn.execute(select(patient_merges.c.moved_links).where(
            patient_merges.c.survivor_id.in_(patient_ids_changed))):
        merged_in |= {tuple(link) for link in row.moved_links}
    # every Patient of these MRNs, and any Patient that still links to one of them (e.g. after an unmerge)
    found: dict[tuple[str, str], Row] = {}
    for link in sorted(links, key=lambda r: (r.hospital_id, r.mrn)):
        row = await find(conn, link.hospital_id, link.mrn)
        if row is not None:
            found[(link.hospital_id, link.mrn)] = row
    owner = {(r.hospital_id, r.mrn): r.patient_id for r in links}
    plan: dict[str, tuple[Row, str, str | None, list[str]]] = {}
    for (hospital, mrn), row in found.items():
        plan[row.id] = (row, owner[(hospital, mrn)], None, [])
    for (hospital, mrn), row in found.items():
        if (hospital, mrn) not in merged_in:
            continue
        survivor = owner[(hospital, mrn)]
        primary = next((r for (h, m), r in sorted(found.items())
                        if h == hospital and owner[(h, m)] == survivor and (h, m) not in merged_in), None)
        if primary is not None and primary.id != row.id:
            plan[row.id] = (row, survivor, primary.id, [])
            plan[primary.id][3].append(row.id)
    rewritten = 0
    for row, alliance_id, replaced_by, replaces in plan.values():
        body = {k: v for k, v in row.body.items() if k != "meta"}
        body = fhir_patient.with_links(fhir_patient.with_alliance_id(body, alliance_id),
                                       replaced_by=replaced_by, replaces=replaces)
        tokens = [t for t in row.identifiers if not t.startswith(f"{systems.ALLIANCE_PATIENT}|")]
        tokens.append(f"{systems.ALLIANCE_PATIENT}|{alliance_id}")
        version = await _write(conn, row, body, tokens, hospital_id=row.hospital_id, patient_id=row.patient_id,
                               derived_from=row.derived_from)
        rewritten += version != row.version
    return rewritten
