"""Ledger use cases: statements and signed checkpoints issued by a clock (no human step), verification, netting."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, insert, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.cost_sharing.v1 import settlement_pb2 as pb
from alliance_messaging import proto_time
from alliance_service import UnitOfWork

from ..adapters import ledger_store
from ..adapters.orm import checkpoints, ledger_entries, ledger_postings, statements
from ..domain.ledger import (
    Checkpoint,
    Ed25519PrivateKey,
    KeyRing,
    LedgerError,
    Posting,
    checkpoint_fault,
    key_fingerprint,
    load_public_key_pem,
    posting_faults,
    public_key_pem,
    sign_checkpoint,
    statement,
    verify_chain,
    verify_checkpoint,
)
from ..domain.netting import gross_to_balances, minimal_transfers

log = logging.getLogger(__name__)
TOPIC = ledger_store.TOPIC
CLOCK_LOCK = 0x5E771E   # advisory lock: one replica issues statements and checkpoints


async def account_entries(conn: AsyncConnection, account: str, through_seq: int):
    """Entries touching an account up to a sequence number, in order."""
    seqs = select(ledger_postings.c.seq).where(ledger_postings.c.account == account,
                                               ledger_postings.c.seq <= through_seq).distinct()
    rows = (await conn.execute(select(ledger_entries).where(ledger_entries.c.seq.in_(seqs))
                               .order_by(ledger_entries.c.seq))).all()
    return [ledger_store.row_to_entry(r) for r in rows]


def statement_json(st, through_seq: int, head_hash: str) -> dict:
    return {"account": st.account, "period": st.period, "opening_fen": st.opening_fen, "debits_fen": st.debits_fen,
            "credits_fen": st.credits_fen, "closing_fen": st.closing_fen, "through_seq": through_seq,
            "head_hash": head_hash,
            "lines": [{"seq": ln.seq, "entry_id": ln.entry_id, "kind": ln.kind, "reference": ln.reference,
                       "occurred_at": ln.occurred_at.isoformat(), "debit_fen": ln.debit_fen,
                       "credit_fen": ln.credit_fen, "memo": ln.memo} for ln in st.lines]}


async def issue_statements(uow: UnitOfWork, now: datetime) -> int:
    """Issue a statement for every hospital account and period that has new postings since its last one."""
    conn = uow.conn
    last = (select(statements.c.account, statements.c.period, func.max(statements.c.through_seq).label("seq"))
            .group_by(statements.c.account, statements.c.period).subquery())
    pending = (await conn.execute(
        select(ledger_postings.c.account, ledger_postings.c.period, func.max(ledger_postings.c.seq).label("seq"))
        .where(ledger_postings.c.account.like("hospital:%"))
        .group_by(ledger_postings.c.account, ledger_postings.c.period)
        .having(func.max(ledger_postings.c.seq) > func.coalesce(
            select(last.c.seq).where(last.c.account == ledger_postings.c.account,
                                     last.c.period == ledger_postings.c.period).scalar_subquery(), 0)))).all()
    head = await ledger_store.head(conn)
    for account, period, _ in pending:
        st = statement(await account_entries(conn, account, head.seq), account, period)
        hospital_id = account.removeprefix("hospital:")
        statement_id = f"ST-{hospital_id}-{period}-{head.seq}"
        body = statement_json(st, head.seq, head.hash)
        await conn.execute(insert(statements).values(statement_id=statement_id, account=account,
                                                     hospital_id=hospital_id, period=period, through_seq=head.seq,
                                                     body=body, issued_at=now))
        uow.publish(TOPIC, hospital_id, pb.SettlementStatementIssued(
            statement_id=statement_id, hospital_id=hospital_id, account=account, period=period,
            opening_fen=st.opening_fen, debits_fen=st.debits_fen, credits_fen=st.credits_fen,
            closing_fen=st.closing_fen, entries=len(st.lines), through_seq=head.seq, head_hash=head.hash,
            occurred_at=proto_time(now)))
    return len(pending)


async def checkpoint(uow: UnitOfWork, key: Ed25519PrivateKey, now: datetime) -> Checkpoint | None:
    """Sign the chain head when it moved since the last checkpoint."""
    conn = uow.conn
    head = await ledger_store.head(conn)
    last = (await conn.execute(select(func.max(checkpoints.c.seq)))).scalar() or 0
    if head.seq <= last:
        return None
    key_id = key_fingerprint(key.public_key())
    cp = sign_checkpoint(key, key_id, head.seq, head.hash, now)
    pem = public_key_pem(key)
    await conn.execute(insert(checkpoints).values(seq=cp.seq, head_hash=cp.head_hash, entries=cp.entries,
                                                  signed_at=cp.signed_at, key_id=cp.key_id, signature=cp.signature,
                                                  public_key_pem=pem))
    uow.publish(TOPIC, ledger_store.LEDGER_KEY, pb.LedgerCheckpointSigned(
        seq=cp.seq, head_hash=cp.head_hash, entries=cp.entries, signed_at=proto_time(cp.signed_at),
        key_id=cp.key_id, signature=cp.signature, public_key_pem=pem))
    return cp


def _unpinned_fault(cp: Checkpoint, pem: str) -> str | None:
    """Only for a verifier given no key: the checkpoint against the key it carries (re-signing passes)."""
    try:
        return None if verify_checkpoint(load_public_key_pem(pem), cp) else "signature does not verify"
    except LedgerError:
        return "signature does not verify: the key it carries is unreadable"


def checkpoint_faults(signed: list[tuple[Checkpoint, str]], heads: dict[int, str], verified_through: int,
                      pinned: KeyRing | None = None) -> list[dict]:
    """Each checkpoint must be signed by the pinned key its key id names and sign the head the verified chain
    has at its seq; one beyond the verified part is not reached. Without pinned keys (a verifier given none)
    the key carried beside each checkpoint is used, which proves nothing against whoever can re-sign."""
    faults = []
    for cp, pem in signed:
        if (reason := checkpoint_fault(pinned, cp) if pinned is not None else _unpinned_fault(cp, pem)):
            faults.append({"seq": cp.seq, "reason": reason})
        elif cp.seq > verified_through:
            faults.append({"seq": cp.seq, "reason": "not reached: the chain breaks before it"})
        elif heads.get(cp.seq) != cp.head_hash:
            faults.append({"seq": cp.seq, "reason": "the chain at this seq differs from the signed head"})
    return faults


async def verify(conn: AsyncConnection, pinned: KeyRing | None) -> dict:
    """Recompute the whole chain, check every posting against its entry, the head against the chain and every
    checkpoint against the pinned keys; name the first broken link and every faulty posting and checkpoint.
    On a live ledger, run it in one snapshot (REPEATABLE READ), or entries posted meanwhile look inserted."""
    cps = (await conn.execute(select(checkpoints).order_by(checkpoints.c.seq))).all()
    wanted = {c.seq for c in cps}
    heads: dict[int, str] = {}
    result = verify_chain([])
    after: int | None = None
    checked = postings = 0
    p_faults: list[dict] = []
    while True:   # a chunk at a time, each chunk continuing from the previous chunk's verified head
        q = select(ledger_entries).order_by(ledger_entries.c.seq).limit(5000)
        rows = (await conn.execute(q if after is None else q.where(ledger_entries.c.seq > after))).all()
        if not rows:
            break
        chunk = [ledger_store.row_to_entry(r) for r in rows]
        if result.ok:
            result = verify_chain(chunk, expected_prev=result.head_hash, expected_first_seq=checked + 1)
            heads.update((e.seq, e.hash) for e in chunk[:result.checked] if e.seq in wanted)
            checked += result.checked
        stored = await _postings(conn, after, rows[-1].seq)    # every posting in the chunk's seq range
        postings += len(stored)
        p_faults += posting_faults(chunk, stored, limit=100 - len(p_faults))
        after = rows[-1].seq
    beyond = await _postings(conn, after, None)                # postings of no entry past the last one
    postings += len(beyond)
    p_faults += posting_faults([], beyond, limit=100 - len(p_faults))
    result = dataclasses.replace(result, checked=checked)
    stored_head = await ledger_store.head(conn)
    head_fault = None
    if result.ok and (stored_head.seq, stored_head.hash) != (result.checked, result.head_hash):
        head_fault = (f"the stored head (seq {stored_head.seq}, {stored_head.hash}) is not the chain's last entry "
                      f"(seq {result.checked}, {result.head_hash})")
    faults = checkpoint_faults(
        [(Checkpoint(c.seq, c.head_hash, c.entries, c.signed_at, c.key_id, c.signature), c.public_key_pem)
         for c in cps], heads, result.checked, pinned)
    ok = result.ok and not faults and not p_faults and head_fault is None
    return {"ok": ok, "entries_checked": result.checked, "head_seq": stored_head.seq, "head_hash": result.head_hash,
            "first_broken_seq": result.first_broken_seq, "reason": result.reason, "head_fault": head_fault,
            "postings_checked": postings, "posting_faults": p_faults, "checkpoints_checked": len(cps),
            "checkpoint_faults": faults, "keys_pinned": sorted(pinned) if pinned is not None else None}


async def _postings(conn: AsyncConnection, after: int | None, through: int | None) -> list[Posting]:
    """Stored postings with after < seq ≤ through (either bound open when None), in order."""
    q = select(ledger_postings).order_by(ledger_postings.c.seq, ledger_postings.c.leg_no)
    if after is not None:
        q = q.where(ledger_postings.c.seq > after)
    if through is not None:
        q = q.where(ledger_postings.c.seq <= through)
    return [Posting(r.seq, r.leg_no, r.account, r.period, r.debit_fen, r.credit_fen)
            for r in (await conn.execute(q)).all()]


async def balances(conn: AsyncConnection, period: str | None) -> dict[str, int]:
    q = select(ledger_postings.c.account,
               func.sum(ledger_postings.c.credit_fen - ledger_postings.c.debit_fen).label("balance"))
    if period:
        q = q.where(ledger_postings.c.period == period)
    return {a: int(b) for a, b in (await conn.execute(q.group_by(ledger_postings.c.account))).all()}


async def netting(conn: AsyncConnection, period: str) -> dict:
    """The fewest transfers that settle every party's balance for a period, next to the gross obligations."""
    bal = {a: b for a, b in (await balances(conn, period)).items() if b}
    transfers = minimal_transfers(bal)
    gross = (await conn.execute(select(func.coalesce(func.sum(ledger_postings.c.debit_fen), 0))
                                .where(ledger_postings.c.period == period))).scalar()
    net = sum(t.amount_fen for t in transfers)
    after = gross_to_balances((t.payer, t.payee, t.amount_fen) for t in transfers)
    return {"period": period, "balances": bal, "gross_fen": int(gross), "net_fen": net,
            "transfers": [{"payer": t.payer, "payee": t.payee, "amount_fen": t.amount_fen} for t in transfers],
            "settles_every_balance": all(after.get(a, 0) == b for a, b in bal.items())}


class SettlementClock:
    """Issues statements and signs checkpoints every `interval` seconds; one replica at a time (advisory lock)."""

    def __init__(self, make_uow: Callable[[], UnitOfWork], key: Ed25519PrivateKey, interval: float) -> None:
        self._make_uow, self._key, self._interval = make_uow, key, interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="settlement-clock")

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    async def tick(self) -> None:
        uow = self._make_uow()
        async with uow:
            got = (await uow.conn.execute(select(func.pg_try_advisory_xact_lock(literal_column(str(CLOCK_LOCK))))))
            if not got.scalar():
                return
            await uow.conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            now = datetime.now(UTC)
            await issue_statements(uow, now)
            await checkpoint(uow, self._key, now)
            await uow.commit()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the database may be restarting: try again next tick
                log.warning("settlement clock tick failed; retrying", exc_info=True)
            try:
                await asyncio.wait_for(self._stop.wait(), self._interval)
            except TimeoutError:
                pass
