"""Composition root of data-exchange."""

from pathlib import Path

from alliance_service import ServiceSpec

from .adapters.events import TOPIC
from .adapters.orm import messaging, metadata
from .config import Settings
from .entrypoints import grpc_server, http

SPEC = ServiceSpec(
    name="data-exchange",
    title="Alliance data exchange",
    description="HL7 v2 / FHIR R4 ingest, master patient index, code mapping and the facility registry.",
    settings_type=Settings,
    metadata=metadata,
    tables=messaging,
    stream_topic=TOPIC,
    service_dir=Path(__file__).resolve().parents[2],
    routers=lambda rt: [http.router(rt)],
    grpc_services=grpc_server.add_services,
)
