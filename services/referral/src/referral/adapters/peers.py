"""gRPC clients of data-exchange (care relationships, patient summary) and results-mutual-recognition (results)."""

from __future__ import annotations

import grpc

from alliance.data_exchange.v1 import clinical_pb2, clinical_pb2_grpc
from alliance.results_mutual_recognition.v1 import recognition_pb2, recognition_pb2_grpc
from alliance_auth.grpc import bearer_metadata

from ..service.ports import Caller, CareCheckUnavailable, NoCareRelationship

# Answers that mean "not yours to refer" — told apart from nothing else, so existence is not revealed.
_NO_RELATIONSHIP = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.UNAUTHENTICATED}


class NotYetVisible(Exception):
    """The peer does not (yet) let this hospital see the patient: the acceptance event may still be in flight."""


class AccessEnded(Exception):
    """The peer says this hospital's access to the patient through the referral has ended (expired or revoked)."""


class HandoffPeers:
    def __init__(self, data_exchange: str, recognition: str) -> None:
        self._channels = [grpc.aio.insecure_channel(data_exchange), grpc.aio.insecure_channel(recognition)]
        self._index = clinical_pb2_grpc.PatientIndexStub(self._channels[0])
        self._recognition = recognition_pb2_grpc.RecognitionStub(self._channels[1])

    async def summary(self, patient_id: str, referral_id: str, token: str) -> clinical_pb2.PatientSummary:
        try:
            return await self._index.GetPatientSummary(clinical_pb2.GetPatientSummaryRequest(
                patient_id=patient_id, purpose=f"referral handoff {referral_id}"),
                metadata=bearer_metadata(token), timeout=5)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise NotYetVisible("patient summary") from exc
            if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
                raise AccessEnded() from exc
            raise

    async def recognisable(self, patient_id: str, token: str) -> recognition_pb2.CheckRecognitionResponse:
        try:
            return await self._recognition.ListRecognisable(recognition_pb2.ListRecognisableRequest(
                patient_id=patient_id), metadata=bearer_metadata(token), timeout=5)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise NotYetVisible("recognisable results") from exc
            raise

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()


class PatientIndexCare:
    """The care-relationship port over data-exchange's PatientIndex/ResolvePatient, asked with the caller's token."""

    def __init__(self, data_exchange: str, timeout: float = 5.0) -> None:
        self._channel = grpc.aio.insecure_channel(data_exchange)
        self._index = clinical_pb2_grpc.PatientIndexStub(self._channel)
        self._timeout = timeout

    async def _resolve(self, caller: Caller, request: clinical_pb2.ResolvePatientRequest) -> str:
        try:
            found = await self._index.ResolvePatient(request, metadata=bearer_metadata(caller.token),
                                                     timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _NO_RELATIONSHIP:
                raise NoCareRelationship() from exc
            raise CareCheckUnavailable(exc.code().name) from exc
        if not found.patient_id:
            raise NoCareRelationship()
        return found.patient_id

    async def by_patient_id(self, caller: Caller, patient_id: str) -> str:
        return await self._resolve(caller, clinical_pb2.ResolvePatientRequest(patient_id=patient_id))

    async def by_mrn(self, caller: Caller, mrn: str) -> str:
        return await self._resolve(caller, clinical_pb2.ResolvePatientRequest(
            mrn=clinical_pb2.HospitalMrn(hospital_id=caller.hospital_id, mrn=mrn)))

    async def close(self) -> None:
        await self._channel.close()
