"""The ledger in PostgreSQL: post entries one after another on the chain head, read them back in order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.cost_sharing.v1 import settlement_pb2 as pb
from alliance_messaging import proto_time

from ..domain.ledger import Entry, EntryDraft, Leg, post
from .orm import ledger_entries, ledger_head, ledger_postings

TOPIC = "alliance.cost_sharing.v1"
LEDGER_KEY = "ledger"   # one Kafka key: the feed carries the chain in order


@dataclass(frozen=True)
class Head:
    """The chain head as stored (what `post` needs of the previous entry)."""

    seq: int
    hash: str


async def head(conn: AsyncConnection, *, lock: bool = False) -> Head:
    q = select(ledger_head.c.seq, ledger_head.c.hash).where(ledger_head.c.id == 1)
    row = (await conn.execute(q.with_for_update() if lock else q)).one()
    return Head(row.seq, row.hash)


async def post_entry(uow, draft: EntryDraft, now: datetime, reverses: str | None = None) -> Entry | None:
    """Append `draft` to the chain and publish it; None when its reference was already posted (idempotent)."""
    posted = await post_entries(uow, [draft], now, reverses=reverses)
    return posted[0] if posted else None


async def post_entries(uow, drafts: list[EntryDraft], now: datetime, reverses: str | None = None) -> list[Entry]:
    """Append drafts whose references are new, in order, under one lock of the chain head; publish each."""
    if not drafts:
        return []
    conn: AsyncConnection = uow.conn
    current = await head(conn, lock=True)       # serialises posters: the chain has one next link
    taken = set((await conn.execute(select(ledger_entries.c.reference).where(
        ledger_entries.c.reference.in_([d.reference for d in drafts])))).scalars())
    entries: list[Entry] = []
    prev = current if current.seq else None
    for draft in drafts:
        if draft.reference in taken:
            continue
        taken.add(draft.reference)
        entry = post(prev, draft, f"E-{uuid.uuid4().hex[:20]}", now, reverses=reverses)  # type: ignore[arg-type]
        entries.append(entry)
        prev = entry
    if not entries:
        return []
    await conn.execute(insert(ledger_entries), [
        {"seq": e.seq, "entry_id": e.entry_id, "kind": e.kind, "reference": e.reference, "period": e.period,
         "legs": [{"account": leg.account, "debit_fen": leg.debit_fen, "credit_fen": leg.credit_fen}
                  for leg in e.legs],
         "memo": e.memo, "occurred_at": e.occurred_at, "posted_at": e.posted_at, "reverses": e.reverses,
         "prev_hash": e.prev_hash, "hash": e.hash} for e in entries])
    await conn.execute(insert(ledger_postings), [
        {"seq": e.seq, "leg_no": n, "account": leg.account, "period": e.period, "debit_fen": leg.debit_fen,
         "credit_fen": leg.credit_fen} for e in entries for n, leg in enumerate(e.legs, 1)])
    await conn.execute(update(ledger_head).where(ledger_head.c.id == 1)
                       .values(seq=entries[-1].seq, hash=entries[-1].hash))
    for e in entries:
        uow.publish(TOPIC, LEDGER_KEY, to_message(e))
    return entries


def to_message(entry: Entry) -> pb.SettlementEntryPosted:
    return pb.SettlementEntryPosted(
        seq=entry.seq, entry_id=entry.entry_id, kind=entry.kind, reference=entry.reference, period=entry.period,
        legs=[pb.Leg(account=leg.account, debit_fen=leg.debit_fen, credit_fen=leg.credit_fen) for leg in entry.legs],
        memo=entry.memo, occurred_at=proto_time(entry.occurred_at), posted_at=proto_time(entry.posted_at),
        reverses=entry.reverses or "", prev_hash=entry.prev_hash, hash=entry.hash)


def row_to_entry(r) -> Entry:
    return Entry(seq=r.seq, entry_id=r.entry_id, kind=r.kind, reference=r.reference, period=r.period,
                 legs=tuple(Leg(leg["account"], leg["debit_fen"], leg["credit_fen"]) for leg in r.legs), memo=r.memo,
                 occurred_at=r.occurred_at, posted_at=r.posted_at, reverses=r.reverses, prev_hash=r.prev_hash,
                 hash=r.hash)


async def get_entry(conn: AsyncConnection, entry_id: str) -> Entry | None:
    r = (await conn.execute(select(ledger_entries).where(ledger_entries.c.entry_id == entry_id))).first()
    return row_to_entry(r) if r else None


def entry_json(e: Entry) -> dict:
    return {"seq": e.seq, "entry_id": e.entry_id, "kind": e.kind, "reference": e.reference, "period": e.period,
            "legs": [{"account": leg.account, "debit_fen": leg.debit_fen, "credit_fen": leg.credit_fen}
                     for leg in e.legs],
            "memo": e.memo, "occurred_at": e.occurred_at.isoformat(), "posted_at": e.posted_at.isoformat(),
            "reverses": e.reverses, "prev_hash": e.prev_hash, "hash": e.hash}
