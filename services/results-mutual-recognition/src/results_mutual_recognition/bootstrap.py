"""Composition root of results-mutual-recognition."""

from pathlib import Path

from alliance_service import ServiceSpec

from .adapters.orm import messaging, metadata
from .config import Settings
from .entrypoints import http, recognition_grpc, recognition_http
from .service import clinical_events, member_hospitals

SPEC = ServiceSpec(
    name="results-mutual-recognition",
    title="Alliance results mutual recognition",
    description="Catalog, QC eligibility, recognisable results at order time, reuse decisions and savings.",
    settings_type=Settings,
    metadata=metadata,
    tables=messaging,
    stream_topic="alliance.results_mutual_recognition.v1",
    service_dir=Path(__file__).resolve().parents[2],
    routers=lambda rt: [http.router(rt), recognition_http.router(rt)],
    handlers=lambda rt: member_hospitals.handlers() | clinical_events.handlers(),
    subscriptions=[member_hospitals.REGISTRY_TOPIC],
    grpc_services=recognition_grpc.add_services,
)
