"""Verifying the settlement feed after retention deleted its first entries: from a signed checkpoint, on real Kafka."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.records_to_delete import RecordsToDelete

from alliance.cost_sharing.v1 import settlement_pb2 as pb
from alliance_messaging import event_from_proto, proto_time
from cost_sharing.adapters.ledger_store import LEDGER_KEY, to_message
from cost_sharing.domain.ledger import (
    EntryDraft,
    Leg,
    generate_signing_key,
    key_fingerprint,
    post,
    public_key_pem,
    sign_checkpoint,
)
from cost_sharing.ledger_cli import checkpoint_json, from_feed

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


async def _published_feed(bootstrap: str, topic: str, key) -> tuple[list, list]:
    """Ten entries with checkpoints after 4 and 7, in one partition as the service publishes them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    entries, cps, prev = [], [], None
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for seq in range(1, 11):
            prev = post(prev, EntryDraft("t", f"ref-{seq}", "2026-01", (Leg("a", debit_fen=seq),
                                                                         Leg("b", credit_fen=seq)), "m", T0),
                        f"E-{seq}", T0 + timedelta(seconds=seq))
            entries.append(prev)
            messages = [to_message(prev)]
            if seq in (4, 7):
                cp = sign_checkpoint(key, key_fingerprint(key.public_key()), seq, prev.hash, T0 + timedelta(hours=seq))
                cps.append(cp)
                messages.append(pb.LedgerCheckpointSigned(
                    seq=cp.seq, head_hash=cp.head_hash, entries=cp.entries, signed_at=proto_time(cp.signed_at),
                    key_id=cp.key_id, signature=cp.signature, public_key_pem=public_key_pem(key)))
            for m in messages:
                event = event_from_proto(m, source="/cost-sharing", subject=LEDGER_KEY)
                await producer.send_and_wait(topic, event.to_json_bytes(), key=LEDGER_KEY.encode())
    finally:
        await producer.stop()
    return entries, cps


async def _delete_before(bootstrap: str, topic: str, offset: int) -> None:
    """What retention does: the records before ``offset`` are gone and the log starts there."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        low = await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(before_offset=offset)})
        assert low[TopicPartition(topic, 0)] == offset
    finally:
        await admin.close()


async def _cli(*args: str) -> tuple[int, dict | str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cost_sharing.ledger_cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode, json.loads(out) if out else err.decode()


async def test_a_feed_past_its_retention_verifies_from_a_signed_checkpoint_and_not_without(
        kafka_bootstrap, unique, tmp_path):
    topic, key = unique("alliance.cost_sharing.v1"), generate_signing_key()
    pem = public_key_pem(key)
    entries, cps = await _published_feed(kafka_bootstrap, topic, key)
    full = await from_feed(kafka_bootstrap, topic, 1.0, pem)
    assert full["ok"] and full["entries_checked"] == 10 and full["latest_checkpoint"]["seq"] == 7
    (tmp_path / "saved.json").write_text(json.dumps(full))        # what a regulator keeps from its last run

    await _delete_before(kafka_bootstrap, topic, 2)               # offsets 0, 1 = entries 1, 2: retained from seq 3
    genesis = await from_feed(kafka_bootstrap, topic, 1.0, pem)
    assert not genesis["ok"] and genesis["first_broken_seq"] == 3 and "expected 1" in genesis["reason"]

    earliest = await from_feed(kafka_bootstrap, topic, 1.0, pem, from_checkpoint="earliest")
    assert earliest["ok"], earliest
    assert earliest["anchor"]["seq"] == 4 and earliest["first_seq_checked"] == 3
    assert earliest["entries_checked"] == 8 and earliest["head_hash"] == entries[-1].hash

    (tmp_path / "alliance-ledger.pem").write_text(pem)
    pinned = ("--public-key", str(tmp_path / "alliance-ledger.pem"))
    code, out = await _cli("--kafka", kafka_bootstrap, "--topic", topic, "--idle-seconds", "1", *pinned,
                           "--checkpoint-file", str(tmp_path / "saved.json"))
    assert code == 0 and out["anchor"]["seq"] == 7 and out["entries_checked"] == 8

    forged = {**checkpoint_json(cps[1]), "head_hash": entries[5].hash}          # seq 7 claiming seq 6's head
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    code, out = await _cli("--kafka", kafka_bootstrap, "--topic", topic, "--idle-seconds", "1", *pinned,
                           "--checkpoint-file", str(tmp_path / "forged.json"))
    assert code == 1 and "does not verify with the pinned key" in out["anchor_fault"]

    stranger = sign_checkpoint(generate_signing_key(), cps[1].key_id, 7, entries[6].hash, T0)
    (tmp_path / "stranger.json").write_text(json.dumps(checkpoint_json(stranger)))   # another key, the pinned id
    code, out = await _cli("--kafka", kafka_bootstrap, "--topic", topic, "--idle-seconds", "1", *pinned,
                           "--checkpoint-file", str(tmp_path / "stranger.json"))
    assert code == 1 and not out["ok"]

    code, out = await _cli("--kafka", kafka_bootstrap, "--topic", topic, "--from-checkpoint", "latest")
    assert code == 2 and "--public-key" in out
