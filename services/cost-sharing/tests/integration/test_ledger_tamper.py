"""The ledger on a real database: every ledger table refuses tampering, and tampering done anyway (a superuser
switching the triggers off) is found by the verification — postings, entries, the head and checkpoints."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, text

from alliance_testing.helpers import eventually
from cost_sharing.adapters import ledger_store
from cost_sharing.adapters.orm import checkpoints
from cost_sharing.bootstrap import SPEC
from cost_sharing.domain.ledger import (
    EntryDraft,
    Leg,
    generate_signing_key,
    key_fingerprint,
    public_key_pem,
    sign_checkpoint,
)
from cost_sharing.ledger_cli import from_database, from_feed
from cost_sharing.service.ledger import verify

T = datetime(2026, 11, 10, 8, tzinfo=UTC)


def _draft(n: int, amount: int) -> EntryDraft:
    return EntryDraft(kind="test", reference=f"test:{n}", period="2026-11", memo=f"entry {n}", occurred_at=T,
                      legs=(Leg("hospital:H001", debit_fen=amount), Leg("hospital:H002", credit_fen=amount)))


@pytest.fixture
async def ledger(start_service):
    """A running cost-sharing with three entries posted and a checkpoint over all three."""
    rt = await start_service(SPEC, settlement_interval_seconds=0.2)
    uow = rt.uow()
    async with uow:
        await ledger_store.post_entries(uow, [_draft(n, 100 * n) for n in (1, 2, 3)], datetime.now(UTC))
        await uow.commit()

    async def signed():
        async with rt.engine.connect() as conn:
            return (await conn.execute(select(checkpoints.c.seq).where(checkpoints.c.seq == 3))).first()
    await eventually(signed)
    return rt


async def _refused(rt, sql: str) -> str:
    """The database's error for a statement run with the triggers on (nothing changes)."""
    async with rt.engine.connect() as conn:
        with pytest.raises(Exception) as err:
            async with conn.begin():
                await conn.execute(text(sql))
    return str(err.value)


REFUSED = [   # statement, what the database answers
    ("UPDATE ledger_postings SET debit_fen = 1 WHERE seq = 2 AND leg_no = 1", "append-only"),
    ("DELETE FROM ledger_postings WHERE seq = 2", "append-only"),
    ("INSERT INTO ledger_postings VALUES (2, 3, 'hospital:H003', '2026-11', 0, 5)", "already under the head"),
    ("UPDATE ledger_entries SET memo = 'x' WHERE seq = 1", "append-only"),
    ("DELETE FROM ledger_entries WHERE seq = 3", "append-only"),
    ("INSERT INTO ledger_entries SELECT 4, 'E-x', kind, 'test:x', period, legs, memo, occurred_at, posted_at, "
     "NULL, repeat('0', 64), hash FROM ledger_entries WHERE seq = 3", "must follow entry 3"),
    ("UPDATE ledger_head SET seq = 2, hash = (SELECT hash FROM ledger_entries WHERE seq = 2)", "only moves forward"),
    ("UPDATE ledger_head SET hash = repeat('a', 64)", "is fixed"),
    ("UPDATE ledger_head SET seq = 4, hash = repeat('a', 64)", "must carry the hash of entry 4"),
    ("DELETE FROM ledger_head", "one row"),
    ("INSERT INTO ledger_head VALUES (2, 0, repeat('0', 64))", "one row"),
    ("UPDATE checkpoints SET signature = 'x'", "append-only"),
    ("DELETE FROM checkpoints", "append-only"),
    ("INSERT INTO checkpoints SELECT 3, head_hash, 3, signed_at, key_id, signature, public_key_pem "
     "FROM checkpoints WHERE seq = 3", "after the last checkpoint"),
]


async def test_every_ledger_table_refuses_tampering(ledger):
    answers = [await _refused(ledger, sql) for sql, _ in REFUSED]
    assert [says for (_, says), answer in zip(REFUSED, answers, strict=True) if says not in answer] == [], answers
    assert (await _tampered(ledger))["ok"]


async def test_a_new_entry_takes_only_its_own_legs_as_postings_and_the_head_waits_for_all_of_them(ledger):
    entry_4 = ("INSERT INTO ledger_entries SELECT 4, 'E-4', kind, 'test:4', period, legs, memo, occurred_at, "
               "posted_at, NULL, hash, repeat('c', 64) FROM ledger_entries WHERE seq = 3")
    posting = "INSERT INTO ledger_postings VALUES (4, {}, '{}', '2026-11', {}, {})"
    head = "UPDATE ledger_head SET seq = 4, hash = repeat('c', 64)"
    async with ledger.engine.connect() as conn:
        await conn.begin()
        await conn.execute(text(entry_4))
        for bad in [(1, "hospital:H001", 1, 0), (3, "hospital:H003", 0, 5), (2, "hospital:H001", 0, 300)]:
            with pytest.raises(Exception, match=f"is not leg {bad[0]} of entry 4"):
                async with conn.begin_nested():
                    await conn.execute(text(posting.format(*bad)))
        await conn.execute(text(posting.format(1, "hospital:H001", 300, 0)))
        with pytest.raises(Exception, match="entry 4 does not have a posting for each leg"):
            async with conn.begin_nested():
                await conn.execute(text(head))
        await conn.execute(text(posting.format(2, "hospital:H002", 0, 300)))
        await conn.execute(text(head))
        await conn.rollback()


async def _tampered(rt, *statements: str) -> dict:
    """Verify the ledger inside a transaction where a superuser tampered with the triggers off; roll it back."""
    async with rt.engine.connect() as conn:
        await conn.begin()
        await conn.execute(text("SET LOCAL session_replication_role = replica"))   # triggers and FKs off
        for sql in statements:
            await conn.execute(text(sql))
        result = await verify(conn, rt.extras["ledger_keys"])
        await conn.rollback()
    return result


async def test_the_untouched_ledger_verifies(ledger):
    result = await _tampered(ledger)
    assert result["ok"], result
    assert (result["entries_checked"], result["postings_checked"], result["checkpoints_checked"]) == (3, 6, 1)
    assert result["keys_pinned"] == list(ledger.extras["ledger_keys"])


TAMPERING = [   # statements run as a superuser with the triggers off, what verification must report
    # postings: balances, statements and netting are summed from them
    (["UPDATE ledger_postings SET debit_fen = 1 WHERE seq = 2 AND leg_no = 1"],
     {"posting": (2, 1, "edited: debit_fen 1 differs from the entry's 200")}),
    (["UPDATE ledger_postings SET account = 'hospital:H003' WHERE seq = 1 AND leg_no = 2"],
     {"posting": (1, 2, "edited: account")}),
    (["UPDATE ledger_postings SET period = '2026-10' WHERE seq = 3 AND leg_no = 2"],
     {"posting": (3, 2, "edited: period")}),
    (["DELETE FROM ledger_postings WHERE seq = 2 AND leg_no = 2"], {"posting": (2, 2, "missing")}),
    (["INSERT INTO ledger_postings VALUES (2, 3, 'hospital:H003', '2026-11', 0, 5)"],
     {"posting": (2, 3, "inserted")}),
    (["INSERT INTO ledger_postings VALUES (9, 1, 'hospital:H003', '2026-11', 0, 5)"],
     {"posting": (9, 1, "inserted")}),
    # entries
    (["UPDATE ledger_entries SET memo = 'x' WHERE seq = 2"], {"broken": 2}),
    (["UPDATE ledger_entries SET legs = jsonb_set(legs, '{0,debit_fen}', '7') WHERE seq = 1"],   # and so
     {"broken": 1, "posting": (1, 1, "edited: debit_fen 100 differs from the entry's 7")}),   # its posting
    (["DELETE FROM ledger_postings WHERE seq = 2", "DELETE FROM ledger_entries WHERE seq = 2"], {"broken": 3}),
    (["DELETE FROM ledger_postings WHERE seq = 3", "DELETE FROM ledger_entries WHERE seq = 3"],
     {"head": True, "checkpoint": "not reached"}),
    (["INSERT INTO ledger_entries SELECT 4, 'E-4', kind, 'test:4', period, legs, memo, occurred_at, posted_at, "
      "NULL, hash, hash FROM ledger_entries WHERE seq = 3",
      "INSERT INTO ledger_postings SELECT 4, leg_no, account, period, debit_fen, credit_fen FROM ledger_postings "
      "WHERE seq = 3"], {"broken": 4}),
    # the head
    (["UPDATE ledger_head SET hash = repeat('a', 64)"], {"head": True}),
    (["UPDATE ledger_head SET seq = 2, hash = (SELECT hash FROM ledger_entries WHERE seq = 2)"], {"head": True}),
    # checkpoints
    (["UPDATE checkpoints SET head_hash = repeat('b', 64)"], {"checkpoint": "does not verify"}),
    (["UPDATE checkpoints SET signed_at = signed_at + interval '1 second'"], {"checkpoint": "does not verify"}),
    (["UPDATE checkpoints SET key_id = 'ed25519:0000000000000000'"], {"checkpoint": "not a pinned key"}),

]


async def test_verification_finds_tampering_done_with_the_triggers_off(ledger):
    for statements, finding in TAMPERING:
        _assert_found(await _tampered(ledger, *statements), finding)


def _assert_found(result: dict, finding: dict) -> None:
    assert not result["ok"]
    if "posting" in finding:
        seq, leg_no, reason = finding["posting"]
        [fault] = result["posting_faults"]
        assert (fault["seq"], fault["leg_no"]) == (seq, leg_no) and fault["reason"].startswith(reason), fault
    else:
        assert result["posting_faults"] == []
    if "broken" in finding:
        assert result["first_broken_seq"] == finding["broken"], result
    if "head" in finding:
        assert result["head_fault"], result
    if "checkpoint" in finding:
        [fault] = result["checkpoint_faults"]
        assert finding["checkpoint"] in fault["reason"], fault


async def test_a_checkpoint_resigned_with_another_key_fails_even_though_its_row_carries_that_key(ledger, dev_keys):
    forger = generate_signing_key()
    async with ledger.engine.connect() as conn:
        cp = (await conn.execute(select(checkpoints).where(checkpoints.c.seq == 3))).one()
        original = dict(cp._mapping)
    forged = sign_checkpoint(forger, key_fingerprint(forger.public_key()), 3, cp.head_hash, cp.signed_at)
    resign = ("UPDATE checkpoints SET key_id = :key_id, signature = :signature, public_key_pem = :pem "
              "WHERE seq = 3")
    async with ledger.engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(resign), {"key_id": forged.key_id, "signature": forged.signature,
                                          "pem": public_key_pem(forger)})
    try:
        headers = {"Authorization": f"Bearer {dev_keys.issue('nhc', roles=['regulator'])}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ledger.http_port}/v1", timeout=30) as c:
            verified = (await c.get("/ledger/verify", headers=headers)).json()
            keys = (await c.get("/ledger/keys", headers=headers)).json()
        assert [k["key_id"] for k in keys] == list(ledger.extras["ledger_keys"]) != [forged.key_id]
        assert not verified["ok"]
        assert verified["checkpoint_faults"] == [
            {"seq": 3, "reason": f"signed with key '{forged.key_id}', which is not a pinned key"}]
        # the operators' CLI with the key pinned says the same; without a pin it cannot tell (and says so)
        pinned = "".join(public_key_pem(k) for k in ledger.extras["ledger_keys"].values())
        assert not (await from_database(ledger.settings.database_url, pinned))["ok"]
        unpinned = await from_database(ledger.settings.database_url)
        assert unpinned["ok"] and unpinned["keys_pinned"] is None
        # the forger keeps the genuine key id: the pinned key does not verify the signature
        async with ledger.engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text(resign), {"key_id": original["key_id"], "signature": sign_checkpoint(
                forger, original["key_id"], 3, cp.head_hash, cp.signed_at).signature, "pem": public_key_pem(forger)})
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ledger.http_port}/v1", timeout=30) as c:
            verified = (await c.get("/ledger/verify", headers=headers)).json()
        assert verified["checkpoint_faults"] == [{"seq": 3, "reason": "signature does not verify with the pinned key"}]
    finally:
        async with ledger.engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text(resign), {"key_id": original["key_id"], "signature": original["signature"],
                                              "pem": original["public_key_pem"]})
    assert (await _tampered(ledger))["ok"]



async def test_the_feed_verifier_and_the_cli_check_checkpoints_against_the_pinned_keys_only(
        ledger, kafka_bootstrap, tmp_path):
    genuine = "".join(public_key_pem(k) for k in ledger.extras["ledger_keys"].values())
    stranger = public_key_pem(generate_signing_key())
    topic = ledger.topic("alliance.cost_sharing.v1")

    async def feed(pinned):
        result = await from_feed(kafka_bootstrap, topic, 1.0, pinned)
        return result if result["entries_checked"] == 3 and result["checkpoints_checked"] else None
    ok = await eventually(lambda: feed(genuine))
    assert ok["ok"] and ok["keys_pinned"] == list(ledger.extras["ledger_keys"])
    rotated = await feed(stranger + genuine)               # an old key beside the current one: still verifies
    assert rotated["ok"] and len(rotated["keys_pinned"]) == 2
    wrong = await feed(stranger)
    assert not wrong["ok"] and all("not a pinned key" in f["reason"] for f in wrong["checkpoint_faults"])

    (tmp_path / "genuine.pem").write_text(genuine)
    (tmp_path / "stranger.pem").write_text(stranger)
    (tmp_path / "junk.pem").write_text("not a key")

    async def cli(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cost_sharing.ledger_cli", "--database-url", ledger.settings.database_url, *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        return proc.returncode, (out or err).decode()
    code, out = await cli("--public-key", str(tmp_path / "genuine.pem"))
    assert code == 0 and json.loads(out)["keys_pinned"] == list(ledger.extras["ledger_keys"])
    code, out = await cli("--public-key", str(tmp_path / "stranger.pem"))
    assert code == 1 and "not a pinned key" in json.loads(out)["checkpoint_faults"][0]["reason"]
    code, out = await cli("--public-key", str(tmp_path / "stranger.pem"), "--public-key", str(tmp_path / "genuine.pem"))
    assert code == 0
    code, out = await cli("--public-key", str(tmp_path / "junk.pem"))
    assert code == 2 and "--public-key" in out


async def test_verifying_while_entries_are_posted_raises_no_false_alarm(ledger, dev_keys):
    headers = {"Authorization": f"Bearer {dev_keys.issue('nhc', roles=['regulator'])}"}

    async def post_some():
        for n in range(4, 24):
            uow = ledger.uow()
            async with uow:
                await ledger_store.post_entries(uow, [_draft(n, n)], datetime.now(UTC))
                await uow.commit()

    async def verify_some(c: httpx.AsyncClient) -> list[dict]:
        return [(await c.get("/ledger/verify", headers=headers)).json() for _ in range(15)]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ledger.http_port}/v1", timeout=30) as c:
        _, results = await asyncio.gather(post_some(), verify_some(c))
    assert [r for r in results if not r["ok"]] == []
