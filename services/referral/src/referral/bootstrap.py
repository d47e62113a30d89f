"""Composition root of referral."""

from pathlib import Path

from alliance_service import Runtime, ServiceSpec

from .adapters.orm import messaging, metadata
from .adapters.peers import HandoffPeers, PatientIndexCare
from .config import Settings
from .entrypoints import beds_http, http, referrals_http
from .service import encounters, member_hospitals
from .service.referrals import DeadlineTimer


def configure(runtime: Runtime) -> None:
    """The deadline timer, the care-relationship check and the handoff peers.

    Without data-exchange's address no referral can be created (503): the care relationship is never skipped
    (and the settings refuse production without it).
    """
    runtime.extras["deadlines"] = DeadlineTimer(runtime.uow)
    s = runtime.settings
    if s.data_exchange_grpc:  # type: ignore[attr-defined]
        runtime.extras["care"] = PatientIndexCare(s.data_exchange_grpc)  # type: ignore[attr-defined]
    if s.data_exchange_grpc and s.recognition_grpc:  # type: ignore[attr-defined]
        runtime.extras["handoff"] = HandoffPeers(s.data_exchange_grpc, s.recognition_grpc)  # type: ignore[attr-defined]


SPEC = ServiceSpec(
    name="referral",
    title="Alliance referral",
    description="Rule-based, capacity-aware two-way referral workflow.",
    settings_type=Settings,
    metadata=metadata,
    tables=messaging,
    stream_topic="alliance.referral.v1",
    service_dir=Path(__file__).resolve().parents[2],
    routers=lambda rt: [http.router(rt), beds_http.router(rt), referrals_http.router(rt)],
    configure=configure,
    servers=lambda rt: [rt.extras["deadlines"]],
    handlers=lambda rt: member_hospitals.handlers() | encounters.handlers(),
    subscriptions=[member_hospitals.REGISTRY_TOPIC],
)
