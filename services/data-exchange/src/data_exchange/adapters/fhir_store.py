"""Stored FHIR resources: server ids, token indexes, and no national ID or phone number in clear."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    cast,
    delete,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance_auth import Principal, Roles

from ..domain.mpi import IdentifierKind, IdentifierProtector, mask_national_id, mask_phone
from ..fhir import systems
from ..fhir.derived import Derived
from ..fhir.search import SearchQuery, Token
from . import grants
from .orm import fhir_resources, patient_links


def _hash_token(protector: IdentifierProtector, system: str, value: str) -> str:
    return f"{system}|#{protector.hash(IdentifierKind.NATIONAL_ID, value.strip().upper())}"


def protect(resource: dict, protector: IdentifierProtector) -> tuple[dict, list[str]]:
    """A copy safe to store (national ID and phone masked) and its identifier tokens (national ID hashed)."""
    body = copy.deepcopy(resource)
    tokens = []
    for ident in body.get("identifier") or []:
        if not isinstance(ident, dict) or not isinstance(ident.get("value"), str):
            continue
        system = ident.get("system") or ""
        if system in systems.NATIONAL_ID_SYSTEMS:
            tokens.append(_hash_token(protector, systems.NATIONAL_ID, ident["value"]))
            ident["value"] = mask_national_id(ident["value"].strip().upper())
        else:
            tokens.append(f"{system}|{ident['value']}")
    for telecom in body.get("telecom") or []:
        if isinstance(telecom, dict) and telecom.get("system") == "phone" and isinstance(telecom.get("value"), str):
            telecom["value"] = mask_phone(telecom["value"])
    return body, tokens


def codes_of(resource: dict) -> list[str]:
    code = resource.get("code") if isinstance(resource.get("code"), dict) else {}
    return [f"{c.get('system', '')}|{c.get('code')}" for c in code.get("coding") or []
            if isinstance(c, dict) and c.get("code")]


_CREATE = ("INSERT INTO fhir_resources (resource_type, id, hospital_id, patient_id, version, body, identifiers, codes, "
           "effective_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::text[], $8::text[], $9)")


class NotYours(Exception):
    """A write to a resource id that another hospital holds, or that the server derives from HL7 v2 data."""

    def __init__(self, resource_type: str, resource_id: str) -> None:
        super().__init__(f"{resource_type}/{resource_id}")
        self.resource_type = resource_type
        self.resource_id = resource_id


async def save(conn: AsyncConnection, protector: IdentifierProtector, resource: dict, *, hospital_id: str,
               patient_id: str | None, effective_at: datetime | None, resource_id: str | None = None) -> dict:
    """Insert (or replace, for PUT) a resource; returns the stored body with id and meta."""
    rid = resource_id or uuid.uuid4().hex
    body, tokens = protect(resource, protector)
    rtype = body["resourceType"]
    existing = None if resource_id is None else (await conn.execute(select(  # a fresh uuid has no row to read
        fhir_resources.c.version, fhir_resources.c.hospital_id, fhir_resources.c.derived_from).where(
        fhir_resources.c.resource_type == rtype, fhir_resources.c.id == rid).with_for_update())).first()
    if existing is not None and (existing.hospital_id != hospital_id or existing.derived_from is not None):
        raise NotYours(rtype, rid)
    version = existing.version + 1 if existing else 1
    body |= {"id": rid, "meta": {"versionId": str(version), "lastUpdated": datetime.now().astimezone().isoformat()}}
    values = {"resource_type": rtype, "id": rid, "hospital_id": hospital_id, "patient_id": patient_id,
              "version": version, "body": _jsonable(body), "identifiers": tokens, "codes": codes_of(body),
              "effective_at": effective_at}
    if resource_id is None:                   # a create: one plain INSERT on the transaction's asyncpg connection
        db = (await conn.get_raw_connection()).driver_connection
        if db.is_in_transaction():
            await db.execute(_CREATE, rtype, rid, hospital_id, patient_id, version,
                             json.dumps(values["body"], ensure_ascii=False), tokens, values["codes"], effective_at)
            return body
    stmt = insert(fhir_resources).values(values)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[fhir_resources.c.resource_type, fhir_resources.c.id],
        set_={k: stmt.excluded[k] for k in values if k not in ("resource_type", "id")}))
    return body


async def save_derived(conn: AsyncConnection, item: Derived, *, hospital_id: str, patient_id: str,
                       meta: dict[str, Any]) -> int | None:
    """Insert or update a resource the server derives from a record; returns the version written.

    The version goes up only when the content changed (a resent message writes nothing), and a row
    that is not derived from the same record is never overwritten (None).
    """
    body = _jsonable(item.resource)
    rtype, rid = body["resourceType"], body["id"]
    existing = (await conn.execute(select(
        fhir_resources.c.version, fhir_resources.c.hospital_id, fhir_resources.c.patient_id,
        fhir_resources.c.derived_from, fhir_resources.c.body, fhir_resources.c.effective_at).where(
        fhir_resources.c.resource_type == rtype, fhir_resources.c.id == rid).with_for_update())).first()
    if existing is not None:
        if existing.derived_from != item.key:
            return None
        unchanged = {k: v for k, v in existing.body.items() if k != "meta"} == body and \
            (existing.hospital_id, existing.patient_id, existing.effective_at) == (
                hospital_id, patient_id, item.effective_at)
        if unchanged:
            return existing.version
    version = existing.version + 1 if existing else 1
    body["meta"] = {"versionId": str(version), "lastUpdated": datetime.now().astimezone().isoformat(), **meta}
    tokens = [f"{i.get('system') or ''}|{i['value']}" for i in body.get("identifier") or []
              if isinstance(i, dict) and isinstance(i.get("value"), str)]
    values = {"resource_type": rtype, "id": rid, "hospital_id": hospital_id, "patient_id": patient_id,
              "version": version, "body": body, "identifiers": tokens, "codes": codes_of(body),
              "effective_at": item.effective_at, "derived_from": item.key, "updated_at": func.now()}
    stmt = insert(fhir_resources).values(values)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[fhir_resources.c.resource_type, fhir_resources.c.id],
        set_={k: stmt.excluded[k] for k in values if k not in ("resource_type", "id")}))
    return version


async def drop_derived(conn: AsyncConnection, key: str, keep: set[tuple[str, str]]) -> int:
    """Delete what was derived from `key` and is no longer (e.g. a result line a correction removed)."""
    stmt = delete(fhir_resources).where(fhir_resources.c.derived_from == key)
    if keep:
        stmt = stmt.where(not_(tuple_(fhir_resources.c.resource_type, fhir_resources.c.id).in_(sorted(keep))))
    return (await conn.execute(stmt)).rowcount


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def visible_to(principal: Principal, now: datetime | None = None) -> Any:
    """SQL condition: a hospital sees its own resources, its patients' and those of active referral grants;
    admins all; a token naming no hospital nothing."""
    if principal.has_role(Roles.ALLIANCE_ADMIN):
        return literal(True)
    if not principal.hospital_id:
        return literal(False)
    treated = select(patient_links.c.patient_id).where(patient_links.c.hospital_id == principal.hospital_id)
    referred = grants.granted_patients(principal.hospital_id, now or datetime.now(UTC))
    return or_(fhir_resources.c.hospital_id == principal.hospital_id, fhir_resources.c.patient_id.in_(treated),
               fhir_resources.c.patient_id.in_(referred))


async def read(conn: AsyncConnection, principal: Principal, rtype: str, rid: str) -> tuple[dict, str | None] | None:
    row = (await conn.execute(select(fhir_resources.c.body, fhir_resources.c.patient_id).where(
        fhir_resources.c.resource_type == rtype, fhir_resources.c.id == rid, visible_to(principal)))).first()
    return (row.body, row.patient_id) if row else None


def _token_condition(column: Any, tokens: tuple[Token, ...], protector: IdentifierProtector) -> Any:
    """Exact tokens as one `column && ARRAY[...]` (the GIN index answers it; `= ANY(column)` scans every row)."""
    alternatives, exact = [], []
    for t in tokens:
        if t.system in systems.NATIONAL_ID_SYSTEMS and t.value:
            exact.append(_hash_token(protector, systems.NATIONAL_ID, t.value))
        elif t.system is not None and t.value:
            exact.append(f"{t.system}|{t.value}")
        elif t.value:
            alternatives.append(_any_element_like(column, "%|" + _like_escaped(t.value)))
        elif t.system:
            alternatives.append(_any_element_like(column, _like_escaped(t.system) + "|%"))
    if exact:
        alternatives.append(type_coerce(column, ARRAY(Text)).overlap(cast(exact, ARRAY(Text))))
    return or_(*alternatives)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def _any_element_like(column: Any, pattern: str) -> Any:
    """EXISTS (SELECT 1 FROM unnest(column) AS t(v) WHERE v LIKE pattern)."""
    elements = func.unnest(column).table_valued("v").render_derived()
    return exists(select(literal(1)).select_from(elements).where(elements.c.v.like(pattern, escape="\\")))


async def patient_id_for(conn: AsyncConnection, reference: str) -> str:
    """`patient=` takes a stored Patient's id or an alliance patient id."""
    row = (await conn.execute(select(fhir_resources.c.patient_id).where(
        fhir_resources.c.resource_type == "Patient", fhir_resources.c.id == reference))).first()
    return row.patient_id if row and row.patient_id else reference


async def search(conn: AsyncConnection, principal: Principal, query: SearchQuery,
                 protector: IdentifierProtector) -> list[dict]:
    stmt: Select = select(fhir_resources.c.body).where(
        fhir_resources.c.resource_type == query.resource_type, visible_to(principal))
    conditions = []
    if query.ids:
        conditions.append(fhir_resources.c.id.in_(query.ids))
    if query.patient:
        conditions.append(fhir_resources.c.patient_id == await patient_id_for(conn, query.patient))
    if query.identifiers:
        conditions.append(_token_condition(fhir_resources.c.identifiers, query.identifiers, protector))
    if query.codes:
        conditions.append(_token_condition(fhir_resources.c.codes, query.codes, protector))
    if query.date is not None:
        if query.date.start is not None:
            conditions.append(fhir_resources.c.effective_at >= query.date.start)
        if query.date.end is not None:
            conditions.append(fhir_resources.c.effective_at < query.date.end)
    stmt = stmt.where(*conditions).order_by(fhir_resources.c.effective_at.desc().nulls_last(),
                                                  fhir_resources.c.id).limit(query.count)
    return [r.body for r in await conn.execute(stmt)]
