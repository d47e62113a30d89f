"""Composition root of data-exchange."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from alliance_service import Runtime, ServiceSpec
from alliance_service.edge import LARGE_REQUEST_BYTES

from .adapters.events import TOPIC
from .adapters.orm import messaging, metadata
from .adapters.patient_index import PostgresPatientIndex
from .config import Settings
from .domain.mpi import IdentifierProtector
from .entrypoints import (
    code_maps_http,
    fhir_http,
    grants_http,
    grpc_server,
    hl7_http,
    http,
    patients_http,
)
from .entrypoints.mllp import MllpServer
from .service import referral_events
from .service.hl7_ingest import handle_message


def configure(runtime: Runtime) -> None:
    """Build the patient index, the HL7 handler and the MLLP listener into the runtime."""
    s: Settings = runtime.settings  # type: ignore[assignment]
    patients = PostgresPatientIndex(IdentifierProtector(s.identifier_key.encode()))

    async def hl7_handler(raw: bytes, allowed_hospital: str | None = None) -> bytes:
        return await handle_message(raw, runtime.uow, patients, now=datetime.now(UTC),
                                    allowed_hospital=allowed_hospital, sender_charsets=s.hl7_sender_charsets,
                                    default_charset=s.hl7_default_charset)

    runtime.extras.update(patient_index=patients, hl7_handler=hl7_handler,
                          mllp=MllpServer(partial(hl7_handler), s.mllp_host, s.mllp_port,
                                          max_message_bytes=s.mllp_max_message_bytes, metrics=runtime.metrics))


SPEC = ServiceSpec(
    name="data-exchange",
    title="Alliance data exchange",
    description="HL7 v2 (MLLP and HTTP) and FHIR R4 ingest, master patient index, code mapping and the "
                "facility registry.",
    settings_type=Settings,
    metadata=metadata,
    tables=messaging,
    stream_topic=TOPIC,
    service_dir=Path(__file__).resolve().parents[2],
    configure=configure,
    routers=lambda rt: [http.router(rt), code_maps_http.router(rt), hl7_http.router(rt), fhir_http.router(rt),
                        patients_http.router(rt), grants_http.router(rt)],
    grpc_services=grpc_server.add_services,
    servers=lambda rt: [rt.extras["mllp"]],
    customize_app=fhir_http.fhir_auth_errors,
    body_limits={path: LARGE_REQUEST_BYTES for path in ("/fhir", "/fhir/", "/v1/code-maps/{hospital_id}/import",
                                                        "/v1/hl7/messages")},
    subscriptions=[referral_events.REFERRAL_TOPIC],
    handlers=lambda rt: referral_events.handlers(rt.settings.referral_access_duration,  # type: ignore[attr-defined]
                                                 rt.settings.referral_access_grace),  # type: ignore[attr-defined]
)
