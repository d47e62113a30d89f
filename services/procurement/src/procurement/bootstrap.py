"""Composition root of procurement."""

from pathlib import Path

from alliance_service import ServiceSpec
from alliance_service.edge import LARGE_REQUEST_BYTES

from .adapters.orm import messaging, metadata
from .config import Settings
from .entrypoints import catalog_http, http, prices_grpc, purchasing_http
from .service import member_hospitals

SPEC = ServiceSpec(
    name="procurement",
    title="Alliance procurement",
    description="Unified material codes, price transparency, tiered group purchasing, shared price risk.",
    settings_type=Settings,
    metadata=metadata,
    tables=messaging,
    stream_topic="alliance.procurement.v1",
    service_dir=Path(__file__).resolve().parents[2],
    body_limits={path: LARGE_REQUEST_BYTES for path in ("/v1/items/import", "/v1/mappings/import")},
    routers=lambda rt: [http.router(rt), catalog_http.router(rt), purchasing_http.router(rt)],
    grpc_services=prices_grpc.add_services,
    handlers=lambda rt: member_hospitals.handlers(),
    subscriptions=[member_hospitals.REGISTRY_TOPIC],
)
