"""HL7 v2 over HTTP: the same messages and ACKs as MLLP, for systems that prefer HTTPS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import require_roles
from alliance_service import Runtime
from alliance_service.outages import RETRY_AFTER_S

from ..service.hl7_ingest import system_failure_ack

HL7_MEDIA = "x-application/hl7-v2+er7"
Sender = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(tags=["HL7 v2"])

    @r.post("/v1/hl7/messages", summary="Send one HL7 v2 message; the response body is its ACK",
            response_class=Response,
            responses={200: {"content": {HL7_MEDIA: {}}, "description": "ACK (MSA-1 AA, AE or AR): final"},
                       503: {"content": {HL7_MEDIA: {}}, "description": "ACK AR, ERR-3 207: a system error; "
                             "resend the same message unchanged after Retry-After seconds"}},
            openapi_extra={"requestBody": {"content": {HL7_MEDIA: {"schema": {"type": "string"}}}}})
    async def post_message(principal: Sender, body: Annotated[bytes, Body(media_type=HL7_MEDIA)]) -> Response:
        # a hospital sends for itself only (MSH-4 must be its own); an administrator for any member
        allowed = None if principal.has_role(Roles.ALLIANCE_ADMIN) else (principal.hospital_id or "")
        try:
            ack = await runtime.extras["hl7_handler"](body, allowed_hospital=allowed)
        except Exception as exc:  # noqa: BLE001 - a system error: AR 207 and 503, the sender resends unchanged
            return Response(system_failure_ack(body, exc, now=datetime.now(UTC)), status_code=503,
                            media_type=HL7_MEDIA, headers={"Retry-After": str(RETRY_AFTER_S)})
        return Response(ack, media_type=HL7_MEDIA)

    return r
