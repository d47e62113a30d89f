"""A contract double of data-exchange's PatientIndex: a real grpc.aio server from the generated contracts.

It knows which hospital holds which MRN for which alliance patient (and which hospitals hold a referral grant),
verifies the caller's token like data-exchange does, and answers ResolvePatient as the contract says: the
patient when the caller treats them, NOT_FOUND otherwise (unknown and not-treated are not told apart).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest_asyncio

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.data_exchange.v1 import clinical_pb2_grpc as pb_grpc
from alliance_auth.grpc import AuthInterceptor, current_principal


class PatientIndexDouble(pb_grpc.PatientIndexServicer):
    def __init__(self) -> None:
        self.mrns: dict[tuple[str, str], str] = {}          # (hospital, MRN) -> alliance id
        self.grants: set[tuple[str, str]] = set()           # (hospital, alliance id)
        self.address = ""

    def register(self, hospital_id: str, mrn: str, patient_id: str) -> str:
        """The hospital holds this MRN for the patient (as an HL7 admission would have linked it)."""
        self.mrns[(hospital_id, mrn)] = patient_id
        return patient_id

    def _treats(self, hospital_id: str | None, patient_id: str) -> bool:
        return hospital_id is not None and ((hospital_id, patient_id) in self.grants or any(
            h == hospital_id and p == patient_id for (h, _), p in self.mrns.items()))

    async def ResolvePatient(self, request: pb.ResolvePatientRequest, context) -> pb.ResolvePatientResponse:
        principal = current_principal()
        if request.WhichOneof("by") is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "give patient_id or mrn")
        patient_id = request.patient_id or self.mrns.get((request.mrn.hospital_id, request.mrn.mrn))
        if not patient_id or not self._treats(principal.hospital_id, patient_id):
            await context.abort(grpc.StatusCode.NOT_FOUND, "patient not found")
        return pb.ResolvePatientResponse(patient_id=patient_id, mrns=[
            pb.HospitalMrn(hospital_id=h, mrn=m) for (h, m), p in self.mrns.items()
            if p == patient_id and h == principal.hospital_id])


@pytest_asyncio.fixture
async def patient_index(dev_keys) -> AsyncIterator[PatientIndexDouble]:
    server = grpc.aio.server(interceptors=[AuthInterceptor(dev_keys.verifier())])
    double = PatientIndexDouble()
    pb_grpc.add_PatientIndexServicer_to_server(double, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    double.address = f"127.0.0.1:{port}"
    yield double
    await server.stop(None)
