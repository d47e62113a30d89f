"""gRPC Recognition.CheckRecognition: the same question as HTTP, for hospital systems and other services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
from sqlalchemy.dialects.postgresql import insert

from alliance.results_mutual_recognition.v1 import recognition_pb2 as pb
from alliance.results_mutual_recognition.v1 import recognition_pb2_grpc as pb_grpc
from alliance_auth import Roles
from alliance_auth.grpc import current_principal
from alliance_messaging import proto_time
from alliance_service import Runtime

from ..adapters import store
from ..adapters.orm import checks
from ..service.recognition import decisions_for


class RecognitionServicer(pb_grpc.RecognitionServicer):
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def _answer(self, context, patient_id: str, at: datetime, item_codes: list[str] | None,
                      after_surgery: bool) -> pb.CheckRecognitionResponse:
        principal = current_principal()
        if not principal.has_role(Roles.HOSPITAL) or not principal.hospital_id:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "only hospitals ask about patients")
        if not patient_id or (item_codes is not None and not 0 < len(item_codes) <= 100):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "patient_id and 1-100 item_codes are required")
        check_id = uuid.uuid4()
        async with self._runtime.engine.begin() as conn:
            allowed = await store.is_treating(conn, principal.hospital_id, patient_id)
            if allowed and item_codes is None:
                item_codes = await store.items_with_results(conn, patient_id, at)
            items = await decisions_for(conn, principal.hospital_id, patient_id, item_codes or [], at,
                                        after_surgery) if allowed else []
            if item_codes is None:  # listing: keep only what is recognised
                items = [d for d in items if d.recognised]
            await conn.execute(insert(checks).values(
                check_id=check_id, requesting_hospital=principal.hospital_id, subject=principal.subject,
                patient_id=patient_id, at=at, outcome="answered" if allowed else "denied",
                items=[{"item_code": d.item_code, "reason": d.reason.name if d.reason else None,
                        "recognised": [x.result_id for x in d.recognised]} for d in items]))
        if not allowed:
            await context.abort(grpc.StatusCode.NOT_FOUND, "patient not found")
        return pb.CheckRecognitionResponse(check_id=str(check_id), items=[
            pb.ItemDecision(item_code=d.item_code, reason=d.reason.name if d.reason else "",
                            explanation=d.explanation, recognised=[
                                pb.RecognisedResult(result_id=x.result_id, hospital_id=x.hospital_id, lab_id=x.lab_id,
                                                    value=x.value, unit=x.unit,
                                                    effective_at=proto_time(x.effective_at),
                                                    report_ref=x.report_ref) for x in d.recognised])
            for d in items])

    async def CheckRecognition(self, request: pb.CheckRecognitionRequest, context) -> pb.CheckRecognitionResponse:
        at = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else datetime.now(UTC)
        return await self._answer(context, request.patient_id, at, list(request.item_codes),
                                  request.inpatient_after_surgery)

    async def ListRecognisable(self, request: pb.ListRecognisableRequest, context) -> pb.CheckRecognitionResponse:
        at = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else datetime.now(UTC)
        return await self._answer(context, request.patient_id, at, None, False)


def add_services(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    pb_grpc.add_RecognitionServicer_to_server(RecognitionServicer(runtime), server)
    return [pb.DESCRIPTOR.services_by_name["Recognition"].full_name]
