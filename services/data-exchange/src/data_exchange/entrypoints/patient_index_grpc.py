"""gRPC PatientIndex: resolve identities and build handoff summaries, scoped to what the caller may see, audited."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from sqlalchemy import select

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.data_exchange.v1 import clinical_pb2_grpc as pb_grpc
from alliance_auth import Principal, Roles
from alliance_auth.grpc import current_principal, grpc_roles
from alliance_service import Runtime

from ..adapters import grants
from ..adapters.audit import record_access
from ..adapters.orm import patient_links, patients
from ..service.patient_summary import recent_encounters


def _visible_links(principal: Principal, links: list) -> list:
    if principal.has_role(Roles.ALLIANCE_ADMIN):
        return links
    if not principal.hospital_id:
        return []
    return [link for link in links if link.hospital_id == principal.hospital_id]


def _own_mrn(principal: Principal, mrn: pb.HospitalMrn) -> pb.HospitalMrn | None:
    """The MRN a caller may name a patient by: a hospital its own (hospital_id empty or its own), an administrator
    any hospital's; None for anything else (answered as an unknown patient)."""
    hospital = mrn.hospital_id or principal.hospital_id or ""
    allowed = principal.has_role(Roles.ALLIANCE_ADMIN) or hospital == principal.hospital_id
    return pb.HospitalMrn(hospital_id=hospital, mrn=mrn.mrn.strip()) if allowed and hospital and mrn.mrn.strip() \
        else None


class PatientIndexServicer(pb_grpc.PatientIndexServicer):
    """A hospital sees patients it has an MRN for or an active referral grant on; admins see all; all audited."""

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
        """Own MRN or an active referral grant (administrators: any); every answer audited."""
        allowed = patient_id is not None and principal.has_role(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN) and (
            bool(_visible_links(principal, links))
            or await grants.has_active_grant(conn, principal.hospital_id, patient_id, datetime.now(UTC)))
        await record_access(conn, principal, action=action, resource=resource, patient_id=patient_id,
                            purpose=purpose, outcome="allowed" if allowed else "denied-or-unknown")
        return allowed

    @grpc_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True)
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

    @grpc_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True)
    async def GetPatientSummary(self, request: pb.GetPatientSummaryRequest, context) -> pb.PatientSummary:
        principal = current_principal()
        if not request.purpose.strip():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "purpose is required (it is audited)")
        if bool(request.patient_id) == request.HasField("mrn"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "give patient_id or mrn (exactly one)")
        mrn = _own_mrn(principal, request.mrn) if request.HasField("mrn") else None
        async with self._runtime.engine.begin() as conn:
            patient_id, links = await self._load(conn, request.patient_id or None, mrn) \
                if request.patient_id or mrn is not None else (None, [])
            ok = await self._authorised(context, principal, conn, "read-summary", "PatientSummary",
                                        request.purpose, patient_id, links)
            row = (await conn.execute(select(patients).where(patients.c.patient_id == patient_id))).first() \
                if ok else None
            # The hospital's referral access has ended (expired or revoked): it knows the referral, so say so
            # (the referral service answers 404 then, where an access not granted yet is worth a retry).
            ended = not ok and patient_id is not None and \
                await grants.held_any(conn, principal.hospital_id, patient_id)
            # Authorised for the patient means all of the patient's data (as FHIR search): every hospital's
            # discharges, including those filed under ids since merged into this one.
            recent = await recent_encounters(
                conn, await self._runtime.extras["patient_index"].merged_group(conn, patient_id),
                patient_id=patient_id) if row is not None else []
        if ended:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "access through the referral has ended")
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
