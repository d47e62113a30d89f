"""HL7 v2 over HTTP: the same messages and ACKs as MLLP, for systems that prefer HTTPS."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from alliance_auth import Roles
from alliance_auth.fastapi import CurrentPrincipal
from alliance_service import Problem, Runtime

HL7_MEDIA = "x-application/hl7-v2+er7"


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(tags=["HL7 v2"])

    @r.post("/v1/hl7/messages", summary="Send one HL7 v2 message; the response body is its ACK",
            response_class=Response,
            responses={200: {"content": {HL7_MEDIA: {}}, "description": "ACK (MSA-1 AA, AE or AR)"}},
            openapi_extra={"requestBody": {"content": {HL7_MEDIA: {"schema": {"type": "string"}}}}})
    async def post_message(principal: CurrentPrincipal,
                           body: Annotated[bytes, Body(media_type=HL7_MEDIA)]) -> Response:
        if principal.has_role(Roles.ALLIANCE_ADMIN):
            allowed = None
        elif principal.has_role(Roles.HOSPITAL) and principal.hospital_id:
            allowed = principal.hospital_id
        else:
            raise Problem(403, "forbidden", "Forbidden", "only hospitals (and administrators) send clinical data")
        ack = await runtime.extras["hl7_handler"](body, allowed_hospital=allowed)
        return Response(ack, media_type=HL7_MEDIA)

    return r
