"""gRPC PatientIndex: resolve identities and build handoff summaries, scoped to what the caller may see, audited."""

from __future__ import annotations

import grpc
from sqlalchemy import select

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.data_exchange.v1 import clinical_pb2_grpc as pb_grpc
from alliance_auth import Principal, Roles
from alliance_auth.grpc import current_principal
from alliance_service import Runtime

from ..adapters.audit import record_access
from ..adapters.orm import patient_access_grants, patient_links, patients
from ..service.patient_summary import recent_encounters


def _visible_links(principal: Principal, links: list) -> list:
    if principal.has_role(Roles.ALLIANCE_ADMIN):
        return links
    return [link for link in links if link.hospital_id == principal.hospital_id]


class PatientIndexServicer(pb_grpc.PatientIndexServicer):
    """A hospital sees patients it has an MRN for or accepted by referral; admins see all; every call audited."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def _load(self, conn, request_patient_id: str | None, mrn: pb.HospitalMrn | None):
        index = self._runtime.extras["patient_index"]
        if not request_patient_id and (mrn is None or not mrn.hospital_id or not mrn.mrn):
            return None, []                  # an empty id or MRN names nobody
        if request_patient_id:
            patient_id = await index.survivor(conn, request_patient_id)
        else:
            row = (await conn.execute(select(patient_links.c.patient_id).where(
                patient_links.c.hospital_id == mrn.hospital_id, patient_links.c.mrn == mrn.mrn))).first()
            patient_id = await index.survivor(conn, row.patient_id) if row else None
        if patient_id is None:
            return None, []
        links = (await conn.execute(select(patient_links).where(patient_links.c.patient_id == patient_id))).all()
        return patient_id, links

    async def _authorised(self, context, principal: Principal, conn, action: str, resource: str, purpose: str,
                          patient_id: str | None, links: list) -> bool:
        referred = patient_id is not None and principal.hospital_id is not None and (await conn.execute(
            select(patient_access_grants.c.patient_id).where(
                patient_access_grants.c.hospital_id == principal.hospital_id,
                patient_access_grants.c.patient_id == patient_id))).first() is not None
        allowed = patient_id is not None and (bool(_visible_links(principal, links)) or referred) and \
            principal.has_role(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN)
        await record_access(conn, principal, action=action, resource=resource, patient_id=patient_id,
                            purpose=purpose, outcome="allowed" if allowed else "denied-or-unknown")
        return allowed

    async def ResolvePatient(self, request: pb.ResolvePatientRequest, context) -> pb.ResolvePatientResponse:
        principal = current_principal()
        if request.WhichOneof("by") is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "give patient_id or mrn")
        async with self._runtime.engine.begin() as conn:
            patient_id, links = await self._load(conn, request.patient_id or None,
                                                 request.mrn if request.HasField("mrn") else None)
            ok = await self._authorised(context, principal, conn, "resolve", "Patient", "resolve", patient_id, links)
        if not ok:
            await context.abort(grpc.StatusCode.NOT_FOUND, "patient not found")
        return pb.ResolvePatientResponse(patient_id=patient_id, mrns=[
            pb.HospitalMrn(hospital_id=link.hospital_id, mrn=link.mrn) for link in _visible_links(principal, links)])

    async def GetPatientSummary(self, request: pb.GetPatientSummaryRequest, context) -> pb.PatientSummary:
        principal = current_principal()
        if not request.purpose.strip():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "purpose is required (it is audited)")
        async with self._runtime.engine.begin() as conn:
            patient_id, links = await self._load(conn, request.patient_id, None)
            ok = await self._authorised(context, principal, conn, "read-summary", "PatientSummary",
                                        request.purpose, patient_id, links)
            row = (await conn.execute(select(patients).where(patients.c.patient_id == patient_id))).first() \
                if ok else None
            # Authorised for the patient means all of the patient's data (as FHIR search): every hospital's
            # discharges, including those filed under ids since merged into this one.
            recent = await recent_encounters(
                conn, await self._runtime.extras["patient_index"].merged_group(conn, patient_id),
                patient_id=patient_id) if row is not None else []
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "patient not found")
        return pb.PatientSummary(
            patient_id=patient_id, name=row.name or "", sex=row.sex,
            birth_date=row.birth_date.isoformat() if row.birth_date else "",
            national_id_masked=row.national_id_masked or "",
            mrns=[pb.HospitalMrn(hospital_id=link.hospital_id, mrn=link.mrn)
                  for link in _visible_links(principal, links)],
            recent_encounters=recent)


def add(runtime: Runtime, server: grpc.aio.Server) -> str:
    pb_grpc.add_PatientIndexServicer_to_server(PatientIndexServicer(runtime), server)
    return pb.DESCRIPTOR.services_by_name["PatientIndex"].full_name
