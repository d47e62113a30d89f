"""Composition root of cost-sharing."""

import logging
from datetime import timedelta
from pathlib import Path

from alliance_service import Runtime, ServiceSpec

from .adapters.ledger_metrics import watch_ledger
from .adapters.orm import messaging, metadata
from .config import Settings
from .domain.ledger import (
    LedgerError,
    generate_signing_key,
    key_fingerprint,
    load_key_ring,
    load_private_key_pem,
    private_key_to_pem,
)
from .entrypoints import analytics_http, http, settlement_http
from .service import member_hospitals, settlement, stay_monitoring
from .service.indicator_clock import IndicatorClock
from .service.ledger import SettlementClock

log = logging.getLogger(__name__)


def signing_key(settings: Settings):
    """The checkpoint signing key: from the configured file; in development, created there on first use."""
    path = settings.ledger_signing_key_file
    if path is not None and path.exists():
        return load_private_key_pem(path.read_bytes())
    if settings.environment == "production":
        raise SystemExit("COST_SHARING_LEDGER_SIGNING_KEY_FILE must name an existing Ed25519 key outside development")
    key = generate_signing_key()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(private_key_to_pem(key))
        path.chmod(0o600)
    else:
        log.warning("no ledger signing key configured: checkpoints are signed with an ephemeral development key")
    return key


def pinned_keys(settings: Settings, key) -> dict:
    """The public keys checkpoints are verified against, by key id: configured; in development, the signing key's."""
    pems = [settings.ledger_public_key] if settings.ledger_public_key else []
    if settings.ledger_public_key_file is not None:
        try:
            pems.append(settings.ledger_public_key_file.read_text())
        except OSError as exc:
            raise SystemExit(f"COST_SHARING_LEDGER_PUBLIC_KEY_FILE is unreadable: {exc}") from None
    if not pems:
        if settings.environment == "production":
            raise SystemExit("COST_SHARING_LEDGER_PUBLIC_KEY(_FILE) must pin the checkpoint keys outside development")
        return {key_fingerprint(key.public_key()): key.public_key()}
    try:
        ring = load_key_ring(*pems)
    except LedgerError as exc:
        raise SystemExit(f"COST_SHARING_LEDGER_PUBLIC_KEY(_FILE): {exc}") from None
    if key_fingerprint(key.public_key()) not in ring:
        if settings.environment == "production":
            raise SystemExit("the ledger signing key's public half is not among the pinned keys: announce it first")
        log.warning("the ledger signing key is not pinned: its checkpoints will not verify")
    return ring


def configure(runtime: Runtime) -> None:
    s: Settings = runtime.settings  # type: ignore[assignment]
    key = signing_key(s)
    runtime.extras["ledger_keys"] = pinned_keys(s, key)
    runtime.extras["clock"] = SettlementClock(runtime.uow, key, s.settlement_interval_seconds)
    runtime.extras["indicator_clock"] = IndicatorClock(runtime.uow, s.indicator_interval_seconds,
                                                       timedelta(hours=s.indicator_close_grace_hours))
    if runtime.metrics is not None:
        watch_ledger(runtime.metrics, runtime.engine)
        runtime.extras["ledger_verifications"] = runtime.metrics.counter(
            "alliance_ledger_verifications", "Ledger verifications run (HTTP), by result: ok or failed")


SPEC = ServiceSpec(
    name="cost-sharing",
    title="Alliance cost sharing",
    description="Contribution coefficients, allocations, referral and DRG settlement, ledger, indicators.",
    settings_type=Settings,
    metadata=metadata,
    tables=messaging,
    stream_topic="alliance.cost_sharing.v1",
    service_dir=Path(__file__).resolve().parents[2],
    routers=lambda rt: [http.router(rt), settlement_http.router(rt), analytics_http.router(rt)],
    configure=configure,
    servers=lambda rt: [rt.extras["clock"], rt.extras["indicator_clock"]],
    handlers=lambda rt: member_hospitals.handlers() | settlement.handlers(rt) | stay_monitoring.handlers(rt),
    batch_handlers=settlement.batch_handlers,
    subscriptions=sorted({member_hospitals.REGISTRY_TOPIC, *settlement.SUBSCRIPTIONS}),
)
