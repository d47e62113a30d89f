"""HL7 v2 over HTTP: the same messages and ACKs as MLLP, for systems that prefer HTTPS."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import require_roles
from alliance_service import Runtime

HL7_MEDIA = "x-application/hl7-v2+er7"
Sender = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(tags=["HL7 v2"])

    @r.post("/v1/hl7/messages", summary="Send one HL7 v2 message; the response body is its ACK",
            response_class=Response,
            responses={200: {"content": {HL7_MEDIA: {}}, "description": "ACK (MSA-1 AA, AE or AR)"}},
            openapi_extra={"requestBody": {"content": {HL7_MEDIA: {"schema": {"type": "string"}}}}})
    async def post_message(principal: Sender, body: Annotated[bytes, Body(media_type=HL7_MEDIA)]) -> Response:
        # a hospital sends for itself only (MSH-4 must be its own); an administrator for any member
        allowed = None if principal.has_role(Roles.ALLIANCE_ADMIN) else (principal.hospital_id or "")
        ack = await runtime.extras["hl7_handler"](body, allowed_hospital=allowed)
        return Response(ack, media_type=HL7_MEDIA)

    return r
