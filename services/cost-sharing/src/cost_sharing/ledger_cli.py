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

Verification that survives retention: the settlement topic keeps a limited window (docs/regulators.md), so its
first entries are eventually deleted and a verification from genesis reports the first missing seq. Start from a
signed checkpoint instead — a trust anchor (seq, head hash, signature by a pinned key):
  --from-checkpoint earliest|latest|SEQ   an anchor read from the feed (earliest: the first checkpoint the retained
                                          entries reach, so everything still in the feed is checked)
  --checkpoint-file FILE                  an anchor the regulator saved (a previous run's output, whose
                                          "latest_checkpoint" it takes, one checkpoint, or GET /v1/ledger/checkpoints)
The anchor must verify with a pinned key (--public-key is required); entries after it must chain from its head hash,
and entries still in the feed before it must chain into it. Each run prints "latest_checkpoint": save it for the next.

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
from collections.abc import Mapping
from datetime import UTC, datetime

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
    checkpoint_fault,
    format_time,
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
                    security: KafkaSecurity = PLAINTEXT, from_checkpoint: str | None = None,
                    saved: list[Checkpoint] | None = None) -> dict:
    """Read the whole retained feed and verify it: from genesis, or from the anchor ``from_checkpoint`` names
    among the ``saved`` checkpoints (when given) or the feed's own."""
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
    anchor: Checkpoint | str | None = None
    if from_checkpoint is not None or saved is not None:
        try:
            anchor = choose_anchor(saved if saved is not None else [cp for cp, _ in cps], from_checkpoint or "latest",
                                   min(entries, default=None))
        except AnchorError as exc:
            anchor = str(exc)
    return verify_feed(entries, cps, _ring(pinned_key), anchor)


# --- trust anchors (pure) ----------------------------------------------------------------------


class AnchorError(ValueError):
    """A checkpoint to start from that cannot be read or found."""


def checkpoint_json(cp: Checkpoint) -> dict:
    """A checkpoint as a regulator saves it (what --checkpoint-file reads back)."""
    return {"seq": cp.seq, "head_hash": cp.head_hash, "entries": cp.entries, "signed_at": format_time(cp.signed_at),
            "key_id": cp.key_id, "signature": cp.signature}


def _checkpoint_of(obj: object) -> Checkpoint:
    if not isinstance(obj, Mapping):
        raise AnchorError("a checkpoint must be a JSON object")
    try:
        seq, entries = obj["seq"], obj.get("entries", obj["seq"])
        signed_at = datetime.fromisoformat(str(obj["signed_at"]).replace("Z", "+00:00"))
        fields = (obj["head_hash"], obj["key_id"], obj["signature"])
    except (KeyError, ValueError) as exc:
        raise AnchorError(f"a checkpoint needs seq, head_hash, signed_at, key_id and signature ({exc})") from None
    if type(seq) is not int or type(entries) is not int or seq < 0 or signed_at.tzinfo is None:
        raise AnchorError("a checkpoint's seq is a non-negative integer and signed_at an ISO time with its offset")
    if not all(isinstance(f, str) for f in fields):
        raise AnchorError("a checkpoint's head_hash, key_id and signature are strings")
    return Checkpoint(seq, fields[0], entries, signed_at, fields[1], fields[2])


def checkpoints_from_file(text: str) -> list[Checkpoint]:
    """Checkpoints in a saved file: a previous run's output (its latest_checkpoint), one checkpoint, or a list."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise AnchorError(f"not JSON: {exc}") from None
    if isinstance(doc, Mapping) and "latest_checkpoint" in doc:
        doc = doc["latest_checkpoint"]
        if doc is None:
            raise AnchorError("the saved run verified no checkpoint (latest_checkpoint is null)")
    return [_checkpoint_of(c) for c in (doc if isinstance(doc, list) else [doc])]


def choose_anchor(cps: list[Checkpoint], spec: str, first_seq: int | None) -> Checkpoint:
    """The checkpoint ``spec`` names: ``latest``, ``earliest`` (the first one the retained entries, starting at
    ``first_seq``, reach) or a seq."""
    if spec == "latest":
        pool = cps
    elif spec == "earliest":
        pool = [c for c in cps if first_seq is None or c.seq >= first_seq - 1]
    elif spec.isdigit():
        pool = [c for c in cps if c.seq == int(spec)]
    else:
        raise AnchorError(f"--from-checkpoint is earliest, latest or a seq, not {spec!r}")
    if not pool:
        raise AnchorError(f"no checkpoint for {spec!r} among the {len(cps)} available")
    return (min if spec == "earliest" else max)(pool, key=lambda c: c.seq)


def verify_feed(entries: Mapping[int, Entry], cps: list[tuple[Checkpoint, str]], ring: KeyRing | None,
                anchor: Checkpoint | str | None = None) -> dict:
    """Verify the feed's entries and checkpoints, from genesis or from a trust anchor.

    From an anchor at seq K: the anchor must verify with a pinned key, the entries after K must chain from its head
    hash, and the entries before it that the feed still holds must chain into that head (a hash chain ending in a
    trusted hash is itself trusted). Checkpoints older than the retained entries are checked for their signature
    only. ``anchor`` may be an error text (no such checkpoint), which fails the verification."""
    seqs = sorted(entries)
    base = {"anchor": None, "anchor_fault": None, "first_seq_checked": 1, "checkpoints_checked": len(cps),
            "keys_pinned": sorted(ring) if ring is not None else None}
    if anchor is None:
        result = verify_chain(entries[s] for s in seqs)
        first, heads, through = 1, {}, result.checked
        broken, reason, head, checked = result.first_broken_seq, result.reason, result.head_hash, result.checked
    elif isinstance(anchor, str) or ring is None or (fault := checkpoint_fault(ring, anchor)):
        why = anchor if isinstance(anchor, str) else "an anchor must be verified with a pinned key (--public-key)" \
            if ring is None else fault
        base.update(anchor=None if isinstance(anchor, str) else checkpoint_json(anchor), anchor_fault=why)
        return {"ok": False, "entries_checked": 0, "head_hash": None, "first_broken_seq": None,
                "reason": f"anchor refused: {why}", "checkpoint_faults": [], **base, "latest_checkpoint": None}
    else:
        k = anchor.seq
        before = [entries[s] for s in seqs if s <= k]
        first = before[0].seq if before else k + 1
        heads = {k: anchor.head_hash}
        broken = reason = None
        checked = 0
        if before:
            prefix = verify_chain(before, expected_prev=before[0].prev_hash, expected_first_seq=before[0].seq)
            checked = prefix.checked
            if not prefix.ok:
                broken, reason = prefix.first_broken_seq, prefix.reason
            elif before[-1].seq != k:
                broken, reason = before[-1].seq + 1, f"seq gap: the feed lacks seq {before[-1].seq + 1}..{k} " \
                                                     f"before the anchor at {k}"
            elif prefix.head_hash != anchor.head_hash:
                broken, reason = k, f"the chain at seq {k} ends in {prefix.head_hash}, not the anchor's signed head"
            heads.update((e.seq, e.hash) for e in before[:checked])
        through = first - 1 + checked
        head = anchor.head_hash
        if broken is None:
            after = verify_chain((entries[s] for s in seqs if s > k), expected_prev=anchor.head_hash,
                                 expected_first_seq=k + 1)
            broken, reason, head = after.first_broken_seq, after.reason, after.head_hash
            checked, through = checked + after.checked, k + after.checked
        base.update(anchor=checkpoint_json(anchor), first_seq_checked=first)
    verified = {s: entries[s].hash for s in seqs if first <= s <= through}
    heads.update(verified)
    older = [(cp, pem) for cp, pem in cps if cp.seq < first - 1]
    faults = [*checkpoint_faults(older, {cp.seq: cp.head_hash for cp, _ in older}, through, ring),
              *checkpoint_faults([c for c in cps if c[0].seq >= first - 1], heads, through, ring)]
    faulty = {f["seq"] for f in faults}
    good = [cp for cp, _ in cps if cp.seq not in faulty and first - 1 <= cp.seq <= through]
    latest = max(good, key=lambda c: c.seq) if good and ring is not None else None
    return {"ok": broken is None and not faults, "entries_checked": checked, "head_hash": head,
            "first_broken_seq": broken, "reason": reason, "checkpoint_faults": faults, **base,
            "latest_checkpoint": checkpoint_json(latest) if latest else None}


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
    ap.add_argument("--from-checkpoint", metavar="earliest|latest|SEQ",
                    help="with --kafka: start from this signed checkpoint (a trust anchor; needs --public-key) "
                         "instead of genesis, taken from the feed or from --checkpoint-file")
    ap.add_argument("--checkpoint-file", metavar="JSON_FILE",
                    help="with --kafka: the anchor from a saved checkpoint (a previous run's output, one "
                         "checkpoint, or a list); --from-checkpoint picks among them (default: latest)")
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
    saved = None
    if args.from_checkpoint is not None or args.checkpoint_file is not None:
        if args.database_url:
            ap.error("--from-checkpoint/--checkpoint-file verify the feed (--kafka); the database keeps every entry")
        if pinned is None:
            ap.error("an anchor is trusted only if its signature verifies with a pinned key: give --public-key")
        if args.from_checkpoint not in (None, "earliest", "latest") and not args.from_checkpoint.isdigit():
            ap.error(f"--from-checkpoint is earliest, latest or a seq, not {args.from_checkpoint!r}")
        if args.checkpoint_file is not None:
            try:
                saved = checkpoints_from_file(open(args.checkpoint_file).read())
            except (OSError, AnchorError) as exc:
                ap.error(f"--checkpoint-file: {exc}")
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
        result = asyncio.run(from_feed(args.kafka, args.topic, args.idle_seconds, pinned, security,
                                        args.from_checkpoint, saved))
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
