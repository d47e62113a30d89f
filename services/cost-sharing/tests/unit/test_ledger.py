import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cost_sharing.domain.ledger import (
    GENESIS,
    Checkpoint,
    Entry,
    EntryDraft,
    LedgerError,
    Leg,
    balances,
    canonical_bytes,
    entry_hash,
    generate_signing_key,
    key_fingerprint,
    load_private_key_pem,
    load_public_key_pem,
    period_of,
    post,
    private_key_to_pem,
    public_key_pem,
    reversal_of,
    sign_checkpoint,
    statement,
    validate_draft,
    verify_chain,
    verify_checkpoint,
)

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


def draft(amount=1_000, period="2026-01", reference="referral:R-1:H-TOWN", memo="settlement",
          payer="insurer:basic", payee="hospital:H-TOWN", at=T0) -> EntryDraft:
    return EntryDraft("referral_settlement", reference, period,
                      (Leg(payer, debit_fen=amount), Leg(payee, credit_fen=amount)), memo, at)


def chain(n: int, start: Entry | None = None) -> list[Entry]:
    entries, prev = [], start
    for i in range(n):
        seq = (prev.seq if prev else 0) + 1
        prev = post(prev, draft(amount=100 + i, reference=f"ref-{seq}"), f"E-{seq}",
                    T0 + timedelta(seconds=seq))
        entries.append(prev)
    return entries


def rehash(entries: list[Entry], from_index: int) -> list[Entry]:
    """What an insider who rewrites history and recomputes every later hash would produce."""
    out = entries[:from_index]
    for entry in entries[from_index:]:
        prev_hash = out[-1].hash if out else GENESIS
        fixed = replace(entry, prev_hash=prev_hash)
        out.append(replace(fixed, hash=entry_hash(prev_hash, fixed)))
    return out


# --- drafts ----------------------------------------------------------------------------------


def test_a_balanced_draft_is_valid():
    validate_draft(draft())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"legs": (Leg("a", debit_fen=5),)}, "legs"),
        ({"legs": (Leg("a", debit_fen=5), Leg("b", credit_fen=4))}, "legs"),
        ({"legs": (Leg("a", debit_fen=5, credit_fen=5), Leg("b", credit_fen=0))}, "legs[0]"),
        ({"legs": (Leg("a"), Leg("b"))}, "legs[0]"),
        ({"legs": (Leg("a", debit_fen=-5), Leg("b", credit_fen=-5))}, "legs[0]"),
        ({"legs": (Leg("a", debit_fen=5.0), Leg("b", credit_fen=5))}, "legs[0]"),
        ({"legs": (Leg("", debit_fen=5), Leg("b", credit_fen=5))}, "legs[0].account"),
        ({"legs": [Leg("a", debit_fen=5), Leg("b", credit_fen=5)]}, "legs"),
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-1"}, "period"),
        ({"reference": ""}, "reference"),
        ({"kind": " "}, "kind"),
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at"),
    ],
)
def test_invalid_drafts_are_refused_naming_the_field(changes, field):
    with pytest.raises(LedgerError) as err:
        validate_draft(replace(draft(), **changes))
    assert isinstance(err.value, ValueError)
    assert err.value.field == field


def test_the_accounting_month_is_china_time():
    assert period_of(datetime(2026, 1, 31, 15, 59, tzinfo=UTC)) == "2026-01"
    assert period_of(datetime(2026, 1, 31, 16, 0, tzinfo=UTC)) == "2026-02"


# --- posting and the hash recipe ---------------------------------------------------------------


def test_the_first_entry_starts_from_genesis_and_the_next_links_to_it():
    first = post(None, draft(), "E-1", T0)
    second = post(first, draft(), "E-2", T0)
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash != second.hash


def test_the_hash_follows_the_documented_recipe_byte_for_byte():
    entry = post(None, draft(amount=1234, memo="转诊结算 \"R-1\"", at=T0.astimezone(CST)),
                 "E-1", datetime(2026, 1, 15, 10, 0, 0, 5, tzinfo=UTC))
    written_by_hand = (
        '{"entry_id":"E-1","kind":"referral_settlement","legs":['
        '{"account":"insurer:basic","credit_fen":0,"debit_fen":1234},'
        '{"account":"hospital:H-TOWN","credit_fen":1234,"debit_fen":0}],'
        '"memo":"转诊结算 \\"R-1\\"","occurred_at":"2026-01-15T09:30:00.000000Z",'
        '"period":"2026-01",'
        f'"posted_at":"2026-01-15T10:00:00.000005Z","prev_hash":"{GENESIS}",'
        '"reference":"referral:R-1:H-TOWN","reverses":null,"seq":1}'
    ).encode()
    assert canonical_bytes(entry) == written_by_hand
    assert entry.hash == hashlib.sha256(GENESIS.encode() + written_by_hand).hexdigest()


def test_the_same_instant_in_another_time_zone_hashes_the_same():
    utc = post(None, draft(at=T0), "E-1", T0)
    cst = post(None, draft(at=T0.astimezone(CST)), "E-1", T0.astimezone(CST))
    assert utc.hash == cst.hash


def test_posting_refuses_an_invalid_draft_or_a_naive_posting_time():
    with pytest.raises(LedgerError):
        post(None, replace(draft(), period="Jan"), "E-1", T0)
    with pytest.raises(LedgerError) as err:
        post(None, draft(), "E-1", datetime(2026, 1, 1))
    assert err.value.field == "posted_at"
    with pytest.raises(LedgerError) as err:
        post(None, draft(), "", T0)
    assert err.value.field == "entry_id"


def test_a_reversal_swaps_the_sides_and_nets_the_original_to_zero():
    original = post(None, draft(amount=700), "E-1", T0)
    undo = reversal_of(original, "wrong hospital", T0 + timedelta(days=3))
    assert undo.kind == "reversal"
    assert undo.reference == "reversal:E-1"
    assert undo.period == original.period
    assert "wrong hospital" in undo.memo
    assert undo.legs == (Leg("insurer:basic", credit_fen=700),
                         Leg("hospital:H-TOWN", debit_fen=700))
    posted = post(original, undo, "E-2", T0 + timedelta(days=3), reverses="E-1")
    assert posted.reverses == "E-1"
    assert set(balances([original, posted]).values()) == {0}
    assert verify_chain([original, posted]).ok


def test_a_reversal_can_be_booked_in_a_later_period():
    original = post(None, draft(), "E-1", T0)
    assert reversal_of(original, "late correction", T0, period="2026-03").period == "2026-03"
    with pytest.raises(LedgerError):
        reversal_of(original, "", T0)


# --- verification -------------------------------------------------------------------------------


def test_an_untouched_chain_verifies():
    entries = chain(5)
    result = verify_chain(entries)
    assert result.ok and result.checked == 5
    assert result.head_hash == entries[-1].hash
    assert (result.first_broken_seq, result.reason) == (None, None)


def test_an_empty_chain_verifies_with_the_genesis_head():
    assert verify_chain([]) == verify_chain(iter(()))
    assert verify_chain([]).head_hash == GENESIS


def test_an_altered_field_is_detected_at_its_entry():
    entries = chain(5)
    entries[2] = replace(entries[2], memo="nothing to see here")
    result = verify_chain(entries)
    assert not result.ok
    assert (result.first_broken_seq, result.checked) == (3, 2)
    assert result.head_hash == entries[1].hash
    assert result.reason.startswith("altered")


def test_an_altered_time_or_amount_is_detected():
    entries = chain(3)
    later = replace(entries[1], occurred_at=entries[1].occurred_at + timedelta(microseconds=1))
    assert verify_chain([entries[0], later, entries[2]]).first_broken_seq == 2
    legs = (Leg("insurer:basic", debit_fen=1), Leg("hospital:H-TOWN", credit_fen=1))
    cheaper = replace(entries[1], legs=legs)
    assert verify_chain([entries[0], cheaper, entries[2]]).reason.startswith("altered")


def test_a_rewritten_history_breaks_the_link_to_the_untouched_rest():
    entries = chain(5)
    entries[1] = rehash([entries[0], replace(entries[1], memo="edited")], 1)[1]
    result = verify_chain(entries)
    assert (result.first_broken_seq, result.reason.split(":")[0]) == (3, "broken link")


def test_a_deleted_entry_is_a_seq_gap():
    entries = chain(5)
    result = verify_chain(entries[:2] + entries[3:])
    assert result.first_broken_seq == 4
    assert result.reason == "seq gap: expected 3, found 4"


def test_a_repeated_entry_is_detected():
    entries = chain(3)
    result = verify_chain(entries[:2] + [entries[1], entries[2]])
    assert result.first_broken_seq == 2
    assert result.reason.startswith("seq repeats")


def test_an_unbalanced_entry_is_detected_even_with_recomputed_hashes():
    entries = chain(4)
    skimmed = replace(entries[1], legs=(Leg("insurer:basic", debit_fen=101),
                                        Leg("hospital:H-TOWN", credit_fen=90)))
    result = verify_chain(rehash([entries[0], skimmed, *entries[2:]], 1))
    assert result.first_broken_seq == 2
    assert result.reason.startswith("invalid legs")
    assert "unbalanced" in result.reason


def test_only_the_first_break_is_reported():
    entries = chain(6)
    entries[4] = replace(entries[4], memo="second edit")
    entries[1] = replace(entries[1], memo="first edit")
    assert verify_chain(entries).first_broken_seq == 2


def test_verification_streams_and_stops_reading_at_the_first_break():
    entries = chain(3)
    entries[1] = replace(entries[1], memo="x")

    def stream():
        yield from entries
        raise AssertionError("read past the break")

    assert verify_chain(stream()).first_broken_seq == 2


def test_a_long_chain_verifies_from_a_generator():
    def generate(n):
        prev = None
        for seq in range(1, n + 1):
            prev = post(prev, draft(amount=seq, reference=f"r{seq}"), f"E-{seq}", T0)
            yield prev

    result = verify_chain(generate(5_000))
    assert result.ok and result.checked == 5_000


def test_a_segment_verifies_from_a_known_head():
    entries = chain(6)
    result = verify_chain(entries[3:], expected_prev=entries[2].hash, expected_first_seq=4)
    assert result.ok and result.checked == 3
    assert not verify_chain(entries[3:], expected_prev=GENESIS, expected_first_seq=4).ok


# --- checkpoints ---------------------------------------------------------------------------------


def test_a_signed_checkpoint_verifies_with_the_public_key_only():
    key = generate_signing_key()
    head = chain(3)[-1]
    cp = sign_checkpoint(key, "ledger-2026", head.seq, head.hash, T0)
    assert (cp.seq, cp.entries, cp.head_hash) == (3, 3, head.hash)
    public = load_public_key_pem(public_key_pem(key))
    assert verify_checkpoint(public, cp)


@pytest.mark.parametrize(
    "changes",
    [{"head_hash": "f" * 64}, {"seq": 4, "entries": 4}, {"entries": 2}, {"key_id": "other"},
     {"signed_at": T0 + timedelta(microseconds=1)}, {"signature": "not base64!"},
     {"signature": ""}],
)
def test_a_tampered_checkpoint_does_not_verify(changes):
    key = generate_signing_key()
    cp = sign_checkpoint(key, "k1", 3, "a" * 64, T0)
    assert not verify_checkpoint(key.public_key(), replace(cp, **changes))


def test_a_checkpoint_does_not_verify_with_another_key():
    cp = sign_checkpoint(generate_signing_key(), "k1", 1, "b" * 64, T0)
    assert not verify_checkpoint(generate_signing_key().public_key(), cp)


def test_keys_survive_a_pem_round_trip():
    key = generate_signing_key()
    again = load_private_key_pem(private_key_to_pem(key))
    cp = sign_checkpoint(again, "k1", 0, GENESIS, T0)
    assert isinstance(cp, Checkpoint)
    assert verify_checkpoint(key.public_key(), cp)
    assert key_fingerprint(key.public_key()) == key_fingerprint(again.public_key())
    assert key_fingerprint(key.public_key()).startswith("ed25519:")


def test_unreadable_keys_and_bad_checkpoint_inputs_are_refused():
    with pytest.raises(LedgerError) as err:
        load_private_key_pem("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    assert err.value.field == "private_key"
    with pytest.raises(LedgerError) as err:
        load_public_key_pem("garbage")
    assert err.value.field == "public_key"
    key = generate_signing_key()
    with pytest.raises(LedgerError) as err:
        sign_checkpoint(key, "k1", 1, "XYZ", T0)
    assert err.value.field == "head_hash"
    with pytest.raises(LedgerError) as err:
        sign_checkpoint(key, "k1", -1, "a" * 64, T0)
    assert err.value.field == "seq"


# --- balances and statements ---------------------------------------------------------------------


def test_balances_are_credits_minus_debits_for_entries_and_drafts():
    entries = [post(None, draft(amount=300), "E-1", T0)]
    result = balances([*entries, draft(amount=50, payer="patients:copay")])
    assert result == {"insurer:basic": -300, "hospital:H-TOWN": 350, "patients:copay": -50}


def test_a_statement_has_opening_lines_and_closing_for_its_period():
    drafts = [
        draft(amount=1_000, period="2025-12"),
        draft(amount=200, period="2026-01", reference="jan-1"),
        EntryDraft("referral_settlement", "jan-2", "2026-01",
                   (Leg("insurer:basic", debit_fen=70), Leg("patients:copay", debit_fen=30),
                    Leg("hospital:H-TOWN", credit_fen=60), Leg("hospital:H-TOWN", credit_fen=40)),
                   "split legs", T0),
        draft(amount=5, period="2026-01", payer="hospital:H-TOWN", payee="supplier:x"),
        draft(amount=9_999, period="2026-02"),
        draft(amount=1, period="2026-01", payee="hospital:OTHER"),
    ]
    entries, prev = [], None
    for i, d in enumerate(drafts, start=1):
        prev = post(prev, d, f"E-{i}", T0)
        entries.append(prev)
    st = statement(reversed(entries), "hospital:H-TOWN", "2026-01")
    assert st.opening_fen == 1_000
    assert [line.seq for line in st.lines] == [2, 3, 4]
    assert [(line.debit_fen, line.credit_fen) for line in st.lines] == [(0, 200), (0, 100), (5, 0)]
    assert (st.debits_fen, st.credits_fen, st.closing_fen) == (5, 300, 1_295)
    assert st.lines[1].memo == "split legs"


def test_a_statement_needs_a_valid_period():
    with pytest.raises(LedgerError) as err:
        statement([], "hospital:H-TOWN", "2026/01")
    assert err.value.field == "period"
