"""gRPC Recognition.CheckRecognition: the same question as HTTP, for hospital systems and other services."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from alliance.results_mutual_recognition.v1 import recognition_pb2 as pb
from alliance.results_mutual_recognition.v1 import recognition_pb2_grpc as pb_grpc
from alliance_auth import Roles
from alliance_auth.grpc import current_principal, grpc_roles
from alliance_messaging import proto_time
from alliance_service import OutOfRange, Runtime, abort_out_of_range, optional_timestamp

from ..service.recognition import check


class RecognitionServicer(pb_grpc.RecognitionServicer):
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def _patient(self, context, hospital: str, patient_id: str, mrn: str) -> str:
        """The alliance id the request names: given, or the caller's own MRN resolved with the caller's token."""
        if bool(patient_id) == bool(mrn.strip()):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "name the patient by patient_id or by mrn")
        if patient_id:
            return patient_id
        index = self._runtime.extras.get("patient_index")
        if index is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "MRN resolution is not configured; use patient_id")
        token = next((v.split(" ", 1)[-1] for k, v in context.invocation_metadata() or () if k == "authorization"), "")
        try:
            resolved = await index.resolve_mrn(hospital, mrn.strip(), token)
        except grpc.aio.AioRpcError:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the patient index did not answer; retry")
        return resolved or f"unknown-mrn:{mrn.strip()}"

    async def _answer(self, context, patient_id: str, at: datetime, item_codes: list[str] | None,
                      after_surgery: bool, mrn: str = "") -> pb.CheckRecognitionResponse:
        principal = current_principal()
        if not principal.hospital_id:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "a hospital token names its hospital")
        if item_codes is not None and not 0 < len(item_codes) <= 100:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "1-100 item_codes are required")
        patient_id = await self._patient(context, principal.hospital_id, patient_id, mrn)
        outcome = await check(self._runtime.engine, hospital=principal.hospital_id, subject=principal.subject,
                              patient_id=patient_id, item_codes=item_codes, at=at, after_surgery=after_surgery)
        if not outcome.allowed:
            await context.abort(grpc.StatusCode.NOT_FOUND, "patient not found")
        return pb.CheckRecognitionResponse(check_id=str(outcome.check_id), items=[
            pb.ItemDecision(item_code=d.item_code, reason=d.reason.name if d.reason else "",
                            explanation=d.explanation, recognised=[
                                pb.RecognisedResult(result_id=x.result_id, hospital_id=x.hospital_id, lab_id=x.lab_id,
                                                    value=x.value, unit=x.unit,
                                                    effective_at=proto_time(x.effective_at),
                                                    report_ref=x.report_ref) for x in d.recognised])
            for d in outcome.items])

    @staticmethod
    async def _at(request, context) -> datetime:
        try:
            return optional_timestamp(request, "at", datetime.now(UTC))
        except OutOfRange as e:
            await abort_out_of_range(context, e)
            raise

    @grpc_roles(Roles.HOSPITAL, scoped=True)
    async def CheckRecognition(self, request: pb.CheckRecognitionRequest, context) -> pb.CheckRecognitionResponse:
        at = await self._at(request, context)
        return await self._answer(context, request.patient_id, at, list(request.item_codes),
                                  request.inpatient_after_surgery, request.mrn)

    @grpc_roles(Roles.HOSPITAL, scoped=True)
    async def ListRecognisable(self, request: pb.ListRecognisableRequest, context) -> pb.CheckRecognitionResponse:
        at = await self._at(request, context)
        return await self._answer(context, request.patient_id, at, None, False, request.mrn)


def add_services(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    pb_grpc.add_RecognitionServicer_to_server(RecognitionServicer(runtime), server)
    return [pb.DESCRIPTOR.services_by_name["Recognition"].full_name]
