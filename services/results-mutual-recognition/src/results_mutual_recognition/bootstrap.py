"""Composition root of results-mutual-recognition."""

from pathlib import Path

from alliance_service import Runtime, ServiceSpec
from alliance_service.edge import LARGE_REQUEST_BYTES

from .adapters.orm import messaging, metadata
from .adapters.patient_index import PatientIndexClient
from .config import Settings
from .entrypoints import http, recognition_grpc, recognition_http
from .service import clinical_events, member_hospitals


def configure(runtime: Runtime) -> None:
    """A PatientIndex client when data-exchange's address is configured."""
    address = runtime.settings.data_exchange_grpc  # type: ignore[attr-defined]
    if address:
        runtime.extras["patient_index"] = PatientIndexClient(address)


SPEC = ServiceSpec(
    name="results-mutual-recognition",
    title="Alliance results mutual recognition",
    description="Catalog, QC eligibility, recognisable results at order time, reuse decisions and savings.",
    settings_type=Settings,
    metadata=metadata,
    tables=messaging,
    stream_topic="alliance.results_mutual_recognition.v1",
    service_dir=Path(__file__).resolve().parents[2],
    body_limits={path: LARGE_REQUEST_BYTES for path in ("/v1/catalog/versions/import",)},
    routers=lambda rt: [http.router(rt), recognition_http.router(rt)],
    handlers=lambda rt: member_hospitals.handlers() | clinical_events.handlers(
        rt.settings.referral_access_duration, rt.settings.referral_access_grace),  # type: ignore[attr-defined]
    subscriptions=[member_hospitals.REGISTRY_TOPIC, clinical_events.REFERRAL_TOPIC],
    grpc_services=recognition_grpc.add_services,
    configure=configure,
)
