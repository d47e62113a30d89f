"""ledger guards: every ledger table has a trigger; the head only moves forward onto the chain

Entries, postings and checkpoints were already append-only (UPDATE/DELETE/TRUNCATE refused). Now an
inserted entry must extend the chain past the head (seq after the head, prev_hash = the previous entry's
hash), a posting must be exactly one leg of an entry not yet under the head, the head row is never
inserted, deleted or moved back and may only move onto an entry whose postings are all there, and a
checkpoint must sign the hash the chain has at its seq, after the last checkpoint. The hash format is
unchanged: existing chains verify as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 17:45:00
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

FUNCTIONS = {
    "ledger_entry_extends_chain": """
        DECLARE head_seq bigint; prev text;
        BEGIN
          SELECT seq INTO head_seq FROM ledger_head WHERE id = 1;
          IF NEW.seq <= head_seq THEN
            RAISE EXCEPTION 'ledger_entries: seq % is not after the head (%)', NEW.seq, head_seq;
          END IF;
          IF NEW.seq = 1 THEN prev := repeat('0', 64);
          ELSE SELECT hash INTO prev FROM ledger_entries WHERE seq = NEW.seq - 1;
          END IF;
          IF prev IS NULL OR NEW.prev_hash IS DISTINCT FROM prev THEN
            RAISE EXCEPTION 'ledger_entries: entry % must follow entry % (prev_hash)', NEW.seq, NEW.seq - 1;
          END IF;
          RETURN NEW;
        END""",
    "ledger_posting_is_a_leg": """
        DECLARE head_seq bigint; e record; leg jsonb;
        BEGIN
          SELECT seq INTO head_seq FROM ledger_head WHERE id = 1;
          IF NEW.seq <= head_seq THEN
            RAISE EXCEPTION 'ledger_postings: entry % is already under the head', NEW.seq;
          END IF;
          SELECT period, legs INTO e FROM ledger_entries WHERE seq = NEW.seq;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger_postings: no entry %', NEW.seq;
          END IF;
          leg := CASE WHEN NEW.leg_no >= 1 THEN e.legs -> (NEW.leg_no - 1) END;
          IF leg IS NULL OR NEW.period IS DISTINCT FROM e.period
             OR NEW.account IS DISTINCT FROM leg ->> 'account'
             OR NEW.debit_fen IS DISTINCT FROM (leg ->> 'debit_fen')::bigint
             OR NEW.credit_fen IS DISTINCT FROM (leg ->> 'credit_fen')::bigint THEN
            RAISE EXCEPTION 'ledger_postings: (%, %) is not leg % of entry %', NEW.seq, NEW.leg_no, NEW.leg_no, NEW.seq;
          END IF;
          RETURN NEW;
        END""",
    "ledger_head_moves_forward": """
        DECLARE entry_hash text; short bigint;
        BEGIN
          IF NEW.id IS DISTINCT FROM OLD.id THEN
            RAISE EXCEPTION 'ledger_head: the head is row 1';
          END IF;
          IF NEW.seq < OLD.seq THEN
            RAISE EXCEPTION 'ledger_head only moves forward: % to %', OLD.seq, NEW.seq;
          END IF;
          IF NEW.seq = OLD.seq THEN
            IF NEW.hash IS DISTINCT FROM OLD.hash THEN
              RAISE EXCEPTION 'ledger_head: the hash at seq % is fixed', OLD.seq;
            END IF;
            RETURN NEW;
          END IF;
          SELECT hash INTO entry_hash FROM ledger_entries WHERE seq = NEW.seq;
          IF entry_hash IS NULL OR NEW.hash IS DISTINCT FROM entry_hash THEN
            RAISE EXCEPTION 'ledger_head: seq % must carry the hash of entry %', NEW.seq, NEW.seq;
          END IF;
          SELECT e.seq INTO short FROM ledger_entries e
           WHERE e.seq > OLD.seq AND e.seq <= NEW.seq
             AND jsonb_array_length(e.legs) <> (SELECT count(*) FROM ledger_postings p WHERE p.seq = e.seq)
           LIMIT 1;
          IF short IS NOT NULL THEN
            RAISE EXCEPTION 'ledger_head: entry % does not have a posting for each leg', short;
          END IF;
          RETURN NEW;
        END""",
    "ledger_head_is_one_row": """
        BEGIN RAISE EXCEPTION 'ledger_head is one row, moved only forward by posting'; END""",
    "ledger_checkpoint_signs_the_chain": """
        DECLARE head_seq bigint; last_seq bigint; entry_hash text;
        BEGIN
          SELECT seq INTO head_seq FROM ledger_head WHERE id = 1;
          SELECT max(seq) INTO last_seq FROM checkpoints;
          IF NEW.seq > head_seq OR NEW.seq <= coalesce(last_seq, 0) OR NEW.entries IS DISTINCT FROM NEW.seq THEN
            RAISE EXCEPTION 'checkpoints: seq % must lie after the last checkpoint and within the head', NEW.seq;
          END IF;
          SELECT hash INTO entry_hash FROM ledger_entries WHERE seq = NEW.seq;
          IF NEW.head_hash IS DISTINCT FROM entry_hash THEN
            RAISE EXCEPTION 'checkpoints: seq % must sign the hash of entry %', NEW.seq, NEW.seq;
          END IF;
          RETURN NEW;
        END""",
}

TRIGGERS = [   # name, table, timing and events, level, function
    ("ledger_entries_extend_chain", "ledger_entries", "BEFORE INSERT", "ROW", "ledger_entry_extends_chain"),
    ("ledger_postings_are_legs", "ledger_postings", "BEFORE INSERT", "ROW", "ledger_posting_is_a_leg"),
    ("ledger_head_moves_forward", "ledger_head", "BEFORE UPDATE", "ROW", "ledger_head_moves_forward"),
    ("ledger_head_is_one_row", "ledger_head", "BEFORE INSERT OR DELETE OR TRUNCATE", "STATEMENT",
     "ledger_head_is_one_row"),
    ("checkpoints_sign_the_chain", "checkpoints", "BEFORE INSERT", "ROW", "ledger_checkpoint_signs_the_chain"),
]


def upgrade() -> None:
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
    for name, table, when, level, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} ON {table} FOR EACH {level} EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    for name, table, *_ in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {name}()")
