"""HTTP API for unified material codes: the item catalog, hospitals' local mappings, CSV imports, conflicts."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal, require_roles
from alliance_service import Problem, Runtime, not_found

from ..adapters.orm import import_jobs, items, local_mappings
from ..domain.codes import (
    CodeError,
    Item,
    LocalMapping,
    find_conflicts,
    parse_item_csv,
    parse_mapping_csv,
    parse_unified_code,
    validate_insurance_code,
    validate_udi_di,
)

Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]
Hospital = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, scoped=True))]
CSV_BODY = {"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}}


class ItemIn(BaseModel):
    code: str = Field(description="16 digits: 6 category + 6 feature (specification) + 4 enterprise")
    name: str = Field(min_length=1, max_length=200)
    specification: str = Field(min_length=1, max_length=200)
    manufacturer: str = Field(min_length=1, max_length=200)
    base_unit: str = Field(min_length=1, max_length=20, description='e.g. "each", "ml", "g"')
    insurance_code: str | None = Field(None, description="national medical-insurance consumables code (27 chars)")
    udi_di: str | None = Field(None, description="UDI device identifier (GS1 GTIN checked)")
    high_value: bool = Field(False, description="lot and UDI are required on receipt")


class MappingIn(BaseModel):
    unified_code: str
    local_name: str = Field("", max_length=200)
    udi_di: str | None = None


def code_problem(exc: CodeError) -> Problem:
    return Problem(422, exc.slug, "Unprocessable Content", exc.message, field=exc.field)


def rows_problem(errors: list, job_id: str) -> Problem:
    return Problem(422, "invalid-rows", "Unprocessable Content",
                   f"{len(errors)} row(s) are invalid; nothing was imported",
                   errors=[dataclasses.asdict(e) for e in errors], job_id=job_id)


def _item_row(i: Item, high_value: bool = False) -> dict:
    return {"code": i.code, "name": i.name, "specification": i.specification, "manufacturer": i.manufacturer,
            "base_unit": i.base_unit, "insurance_code": i.insurance_code, "udi_di": i.udi_di,
            "high_value": high_value}


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(400, "bad-encoding", "Bad Request", "the CSV must be UTF-8") from exc


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1")

    async def record_job(conn, kind: str, owner: str, total: int, errors: list) -> str:
        job_id = f"IMP-{uuid.uuid4().hex[:12].upper()}"
        await conn.execute(insert(import_jobs).values(
            job_id=job_id, kind=kind, owner=owner, status="rejected" if errors else "done", rows_total=total,
            rows_done=0 if errors else total, errors=[dataclasses.asdict(e) for e in errors]))
        return job_id

    @r.post("/items", status_code=201, tags=["unified codes"], summary="Register an item under its unified code")
    async def create_item(body: ItemIn, _: Admin) -> dict:
        try:
            parse_unified_code(body.code)
            insurance = validate_insurance_code(body.insurance_code) if body.insurance_code else None
            udi = validate_udi_di(body.udi_di) if body.udi_di else None
        except CodeError as exc:
            raise code_problem(exc) from exc
        item = Item(body.code, body.name, body.specification, body.manufacturer, body.base_unit, insurance, udi)
        async with runtime.engine.begin() as conn:
            done = await conn.execute(pg_insert(items).values(_item_row(item, body.high_value))
                                      .on_conflict_do_nothing().returning(items.c.code))
            if done.first() is None:
                raise Problem(409, "code-taken", "Conflict", f"unified code {body.code} is already registered")
        return _item_row(item, body.high_value)

    @r.post("/items/import", status_code=201, tags=["unified codes"], openapi_extra=CSV_BODY,
            summary="Import items from CSV: unified_code,name,specification,manufacturer,base_unit,"
                    "insurance_code,udi_di — all rows or none")
    async def import_items(principal: Admin, body: Annotated[bytes, Body(media_type="text/csv")]) -> dict:
        parsed, errors = parse_item_csv(_decode(body))
        async with runtime.engine.begin() as conn:
            if not errors and parsed:
                added = set((await conn.execute(pg_insert(items).values([_item_row(i) for i in parsed])
                                                .on_conflict_do_nothing().returning(items.c.code))).scalars())
                if taken := sorted({i.code for i in parsed} - added):   # raising rolls the whole import back
                    raise Problem(409, "code-taken", "Conflict", "some unified codes are already registered",
                                  codes=taken)
            job_id = await record_job(conn, "items", principal.subject, len(parsed) + len(errors), errors)
        if errors:
            raise rows_problem(errors, job_id)
        return {"job_id": job_id, "imported": len(parsed)}

    @r.get("/items/{code}", tags=["unified codes"], summary="One item by unified code")
    async def get_item(code: str, _: CurrentPrincipal) -> dict:
        async with runtime.engine.connect() as conn:
            row = (await conn.execute(select(items).where(items.c.code == code))).mappings().first()
        if row is None:
            raise not_found("item")
        return {k: v for k, v in row.items() if k != "created_at"}

    @r.get("/items", tags=["unified codes"], summary="The catalog of unified codes")
    async def list_items(_: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict]:
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(select(items).order_by(items.c.code).limit(limit))).mappings()
            return [{k: v for k, v in row.items() if k != "created_at"} for row in rows]

    @r.put("/mappings/{local_code}", tags=["local mappings"],
           summary="Map one of the caller hospital's local item codes to a unified code")
    async def put_mapping(local_code: str, body: MappingIn, principal: Hospital) -> dict:
        try:
            parse_unified_code(body.unified_code)
            udi = validate_udi_di(body.udi_di) if body.udi_di else None
        except CodeError as exc:
            raise code_problem(exc) from exc
        async with runtime.engine.begin() as conn:
            if (await conn.execute(select(items.c.code).where(items.c.code == body.unified_code))).first() is None:
                raise Problem(422, "unknown-code", "Unprocessable Content",
                              f"unified code {body.unified_code} is not registered", field="unified_code")
            values = {"hospital_id": principal.hospital_id, "local_code": local_code,
                      "unified_code": body.unified_code, "local_name": body.local_name, "udi_di": udi}
            await conn.execute(pg_insert(local_mappings).values(values).on_conflict_do_update(
                index_elements=["hospital_id", "local_code"],
                set_={"unified_code": body.unified_code, "local_name": body.local_name, "udi_di": udi}))
        return values

    @r.post("/mappings/import", status_code=201, tags=["local mappings"], openapi_extra=CSV_BODY,
            summary="Import the caller hospital's mappings from CSV: local_code,unified_code,local_name,udi_di")
    async def import_mappings(principal: Hospital, body: Annotated[bytes, Body(media_type="text/csv")]) -> dict:
        text = _decode(body)
        async with runtime.engine.begin() as conn:
            known = set((await conn.execute(select(items.c.code))).scalars())
            parsed, errors = parse_mapping_csv(text, principal.hospital_id or "", known)
            if not errors and parsed:
                stmt = pg_insert(local_mappings)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=["hospital_id", "local_code"],
                    set_={"unified_code": stmt.excluded.unified_code, "local_name": stmt.excluded.local_name,
                          "udi_di": stmt.excluded.udi_di}),
                    [dataclasses.asdict(m) for m in parsed])
            job_id = await record_job(conn, "mappings", principal.hospital_id or "", len(parsed) + len(errors),
                                      errors)
        if errors:
            raise rows_problem(errors, job_id)
        return {"job_id": job_id, "imported": len(parsed)}

    @r.get("/imports/{job_id}", tags=["local mappings"], summary="Progress and row errors of an import")
    async def get_import(job_id: str, principal: CurrentPrincipal) -> dict:
        async with runtime.engine.connect() as conn:
            row = (await conn.execute(select(import_jobs).where(import_jobs.c.job_id == job_id))).mappings().first()
        if row is None or not (principal.has_role(Roles.ALLIANCE_ADMIN) or row["owner"] == principal.hospital_id):
            raise not_found("import")
        return {**row, "created_at": row["created_at"].isoformat()}

    @r.get("/mappings", tags=["local mappings"], summary="The caller hospital's mappings (all, for administrators)")
    async def list_mappings(principal: CurrentPrincipal) -> list[dict]:
        q = select(local_mappings).order_by(local_mappings.c.hospital_id, local_mappings.c.local_code)
        if not principal.has_role(*Roles.CROSS_HOSPITAL):
            q = q.where(local_mappings.c.hospital_id == principal.hospital_id)
        async with runtime.engine.connect() as conn:
            return [{k: v for k, v in m.items() if k != "updated_at"} for m in (await conn.execute(q)).mappings()]

    @r.get("/conflicts", tags=["local mappings"],
           summary="Same item under different codes, and one code used for different items")
    async def conflicts(_: Admin) -> list[dict]:
        async with runtime.engine.connect() as conn:
            catalog = [Item(r.code, r.name, r.specification, r.manufacturer, r.base_unit, r.insurance_code, r.udi_di)
                       for r in await conn.execute(select(items))]
            maps = [LocalMapping(m.hospital_id, m.local_code, m.unified_code, m.local_name, m.udi_di)
                    for m in await conn.execute(select(local_mappings))]
        return [dataclasses.asdict(c) for c in find_conflicts(catalog, maps)]

    return r
