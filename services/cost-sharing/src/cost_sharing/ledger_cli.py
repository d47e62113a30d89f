"""`alliance-ledger-verify`: verify the settlement ledger's hash chain and signed checkpoints.

Two independent ways:
  --database-url URL   recompute the chain stored in cost-sharing's database (operators, auditors)
  --kafka BOOTSTRAP    rebuild it from the regulators' feed alone (alliance.cost_sharing.v1), checking
                       every SettlementEntryPosted link and every LedgerCheckpointSigned signature —
                       what a regulator can do with read-only rights and no access to our database
Exit status 0 when the chain verifies, 1 when a link is broken (the first broken seq is printed).

Pin the operator's checkpoint keys with --public-key FILE (repeatable; a file may hold several PEM blocks):
each checkpoint is then verified with the pinned key its key id names. Without a pin, the key carried beside
each checkpoint is used ("keys_pinned": null in the output): that catches corruption, not a re-signed history.

A secured cluster: --kafka-security-protocol SASL_SSL --kafka-username NAME (or KAFKA_SECURITY_PROTOCOL,
KAFKA_SASL_MECHANISM, KAFKA_USERNAME, KAFKA_SSL_CAFILE), the password only from KAFKA_PASSWORD. The feed is
read without a consumer group, so read rights on the topic are all a regulator needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC

from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import create_async_engine

from alliance.cost_sharing.v1 import settlement_pb2 as pb
from alliance_messaging import PLAINTEXT, CloudEvent, KafkaSecurity, event_type

from .domain.ledger import (
    Checkpoint,
    Entry,
    KeyRing,
    LedgerError,
    Leg,
    load_key_ring,
    verify_chain,
)
from .service.ledger import checkpoint_faults
from .service.ledger import verify as verify_database


def _ring(pinned: KeyRing | str | None) -> KeyRing | None:
    """Pinned keys given as a ring or as PEM text (one or more blocks)."""
    return load_key_ring(pinned) if isinstance(pinned, str) else pinned


async def from_database(url: str, pinned: KeyRing | str | None = None) -> dict:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:   # one snapshot of a ledger that may be growing
            await conn.execution_options(isolation_level="REPEATABLE READ")
            return await verify_database(conn, _ring(pinned))
    finally:
        await engine.dispose()


def _entry(m: pb.SettlementEntryPosted) -> Entry:
    return Entry(seq=m.seq, entry_id=m.entry_id, kind=m.kind, reference=m.reference, period=m.period,
                 legs=tuple(Leg(x.account, x.debit_fen, x.credit_fen) for x in m.legs), memo=m.memo,
                 occurred_at=m.occurred_at.ToDatetime(tzinfo=UTC), posted_at=m.posted_at.ToDatetime(tzinfo=UTC),
                 reverses=m.reverses or None, prev_hash=m.prev_hash, hash=m.hash)


async def from_feed(bootstrap: str, topic: str, idle_seconds: float, pinned_key: KeyRing | str | None,
                    security: KafkaSecurity = PLAINTEXT) -> dict:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                isolation_level="read_committed", **security.client_options())
    entries: dict[int, Entry] = {}
    cps: list[tuple[Checkpoint, str]] = []
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=int(idle_seconds * 1000), max_records=1000)
            if not batches:
                break
            for records in batches.values():
                for r in records:
                    try:
                        event = CloudEvent.from_json_bytes(r.value)
                    except Exception:
                        continue
                    if event.type == event_type(pb.SettlementEntryPosted):
                        e = _entry(event.data_as(pb.SettlementEntryPosted))
                        entries.setdefault(e.seq, e)          # at-least-once delivery: duplicates collapse
                    elif event.type == event_type(pb.LedgerCheckpointSigned):
                        m = event.data_as(pb.LedgerCheckpointSigned)
                        cps.append((Checkpoint(m.seq, m.head_hash, m.entries, m.signed_at.ToDatetime(tzinfo=UTC),
                                               m.key_id, m.signature), m.public_key_pem))
    finally:
        await consumer.stop()
    result = verify_chain(entries[s] for s in sorted(entries))
    ring = _ring(pinned_key)
    faults = checkpoint_faults(cps, {seq: e.hash for seq, e in entries.items()}, result.checked, ring)
    return {"ok": result.ok and not faults, "entries_checked": result.checked, "head_hash": result.head_hash,
            "first_broken_seq": result.first_broken_seq, "reason": result.reason,
            "checkpoints_checked": len(cps), "checkpoint_faults": faults,
            "keys_pinned": sorted(ring) if ring is not None else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--database-url", help="postgresql+asyncpg://… of cost-sharing")
    src.add_argument("--kafka", metavar="BOOTSTRAP", help="broker address; reads the settlement feed")
    ap.add_argument("--topic", default="alliance.cost_sharing.v1")
    ap.add_argument("--idle-seconds", type=float, default=3.0, help="stop reading the feed after this much quiet")
    ap.add_argument("--public-key", action="append", metavar="PEM_FILE",
                    help="the alliance's checkpoint public key(s) to pin, by key id; repeatable (default: none "
                         "pinned, each checkpoint's own key is used)")
    env = os.environ.get
    ap.add_argument("--kafka-security-protocol", default=env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
                    choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
    ap.add_argument("--kafka-sasl-mechanism", default=env("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
                    choices=["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
    ap.add_argument("--kafka-username", default=env("KAFKA_USERNAME"), help="password: KAFKA_PASSWORD")
    ap.add_argument("--kafka-cafile", default=env("KAFKA_SSL_CAFILE"), help="CA bundle for SSL/SASL_SSL")
    args = ap.parse_args(argv)
    pinned = None
    if args.public_key:
        try:
            pinned = load_key_ring(*(open(path).read() for path in args.public_key))
        except (OSError, LedgerError) as exc:
            ap.error(f"--public-key: {exc}")
    if args.database_url:
        result = asyncio.run(from_database(args.database_url, pinned))
    else:
        sasl = args.kafka_security_protocol.startswith("SASL_")
        try:
            security = KafkaSecurity(args.kafka_security_protocol, args.kafka_sasl_mechanism if sasl else None,
                                     args.kafka_username if sasl else None,
                                     env("KAFKA_PASSWORD") if sasl else None, args.kafka_cafile)
        except ValueError as exc:
            ap.error(str(exc))
        result = asyncio.run(from_feed(args.kafka, args.topic, args.idle_seconds, pinned, security))
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
