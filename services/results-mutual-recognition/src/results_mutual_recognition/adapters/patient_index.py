"""data-exchange's PatientIndex over gRPC, called with the requesting hospital's own token."""

from __future__ import annotations

import grpc

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.data_exchange.v1 import clinical_pb2_grpc as pb_grpc
from alliance_auth.grpc import bearer_metadata


class PatientIndexClient:
    def __init__(self, address: str) -> None:
        self._channel = grpc.aio.insecure_channel(address)
        self._stub = pb_grpc.PatientIndexStub(self._channel)

    async def resolve_mrn(self, hospital_id: str, mrn: str, token: str) -> str | None:
        """The alliance patient id for the hospital's MRN, or None when unknown (or not visible to the caller)."""
        try:
            found = await self._stub.ResolvePatient(
                pb.ResolvePatientRequest(mrn=pb.HospitalMrn(hospital_id=hospital_id, mrn=mrn)),
                metadata=bearer_metadata(token), timeout=5)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return found.patient_id

    async def close(self) -> None:
        await self._channel.close()
