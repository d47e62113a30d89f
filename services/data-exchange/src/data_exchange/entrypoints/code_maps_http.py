"""HTTP API for code maps (administrators write; a hospital reads its own) and the unmapped-code report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import require_roles
from alliance_service import Problem, Runtime, not_found

from ..adapters import code_maps
from ..domain.code_mapping import CodeKind, InvalidMapping, MapEntry
from ..service import code_maps as use_cases

Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, Roles.REGULATOR,
                                                    scoped=True))]


class MapEntryIn(BaseModel):
    alliance_code: str = Field(min_length=1, max_length=64, examples=["LAB-CBC-WBC"])
    display: str = Field("", max_length=200)


class MapEntryOut(MapEntryIn):
    kind: CodeKind
    local_code: str


class SaveResult(BaseModel):
    entry: MapEntryOut
    republished_records: int


class ImportResult(BaseModel):
    rows: int
    imported: int
    republished_records: int
    errors: list[dict]
    progress: list[dict]


def _may_read(principal: Principal, hospital_id: str) -> bool:
    """Administrators and regulators read every map; a hospital its own (another's answers 404)."""
    return principal.can_see_hospital(hospital_id)


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(tags=["code mapping"])

    @r.put("/v1/code-maps/{hospital_id}/{kind}/{local_code}", response_model=SaveResult,
           summary="Map one local code to an alliance code (re-publishes held records it completes)")
    async def put_entry(hospital_id: str, kind: CodeKind, local_code: str, body: MapEntryIn, _: Admin) -> SaveResult:
        try:
            entry = MapEntry(kind, local_code, body.alliance_code, body.display).validated()
        except InvalidMapping as exc:
            raise Problem(422, "invalid-mapping", "Unprocessable Content", str(exc)) from exc
        republished = await use_cases.save_entries(runtime.uow(), hospital_id, [entry])
        return SaveResult(entry=MapEntryOut(kind=kind, local_code=entry.local_code, alliance_code=entry.alliance_code,
                                            display=entry.display), republished_records=republished)

    @r.post("/v1/code-maps/{hospital_id}/import", response_model=ImportResult,
            summary="Bulk import `kind,local_code,alliance_code,display` CSV; row-level errors, valid rows kept",
            openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
    async def import_csv(hospital_id: str, _: Admin,
                         body: Annotated[bytes, Body(media_type="text/csv")]) -> ImportResult:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Problem(400, "bad-encoding", "Bad Request", "the CSV must be UTF-8") from exc
        report = await use_cases.import_csv(runtime.uow, hospital_id, text)
        return ImportResult(rows=report.rows, imported=report.imported, republished_records=report.republished,
                            errors=report.errors, progress=report.progress)

    @r.get("/v1/code-maps/{hospital_id}", response_model=list[MapEntryOut], summary="A hospital's code map")
    async def list_entries(hospital_id: str, principal: Reader, kind: CodeKind | None = None
                           ) -> list[MapEntryOut]:
        if not _may_read(principal, hospital_id):
            raise not_found(f"code map of {hospital_id}")
        async with runtime.engine.connect() as conn:
            entries = await code_maps.list_entries(conn, hospital_id, kind)
        return [MapEntryOut(kind=e.kind, local_code=e.local_code, alliance_code=e.alliance_code, display=e.display)
                for e in entries]

    @r.get("/v1/unmapped-codes", summary="Codes received without a mapping, by hospital (most frequent first)")
    async def unmapped(principal: Reader, hospital_id: str | None = None) -> list[dict]:
        if not principal.has_role(*Roles.CROSS_HOSPITAL):
            if hospital_id not in (None, principal.hospital_id):
                return []
            hospital_id = principal.hospital_id
        async with runtime.engine.connect() as conn:
            return await code_maps.list_unmapped(conn, hospital_id)

    return r
