"""Postings derived from entries and checked against them; checkpoints verified against pinned keys by key id."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cost_sharing.bootstrap import pinned_keys
from cost_sharing.config import Settings
from cost_sharing.domain.ledger import (
    EntryDraft,
    LedgerError,
    Leg,
    Posting,
    checkpoint_fault,
    generate_signing_key,
    key_fingerprint,
    load_key_ring,
    post,
    posting_faults,
    postings_of,
    public_key_pem,
    sign_checkpoint,
)
from cost_sharing.service.ledger import checkpoint_faults

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def entries(n: int = 2):
    out, prev = [], None
    for seq in range(1, n + 1):
        prev = post(prev, EntryDraft("t", f"ref-{seq}", "2026-01", (Leg("a", debit_fen=seq), Leg("b", credit_fen=seq)),
                                     "m", T0), f"E-{seq}", T0 + timedelta(seconds=seq))
        out.append(prev)
    return out


def test_postings_are_an_entrys_legs_numbered_from_one_in_its_period():
    [e] = entries(1)
    assert postings_of(e) == (Posting(1, 1, "a", "2026-01", 1, 0), Posting(1, 2, "b", "2026-01", 0, 1))


def test_postings_that_match_their_entries_have_no_faults():
    es = entries(3)
    assert posting_faults(es, [p for e in es for p in postings_of(e)]) == []


@pytest.mark.parametrize("tamper, fault", [
    (lambda ps: [replace(ps[0], debit_fen=9)] + ps[1:], (1, 1, "edited: debit_fen 9 differs from the entry's 1")),
    (lambda ps: [replace(ps[0], account="c")] + ps[1:], (1, 1, "edited: account 'c' differs from the entry's 'a'")),
    (lambda ps: [replace(ps[2], period="2025-12")] + ps[:2] + ps[3:], (2, 1, "edited: period")),
    (lambda ps: ps[:3], (2, 2, "missing")),
    (lambda ps: ps + [Posting(2, 3, "c", "2026-01", 0, 1)], (2, 3, "inserted")),
    (lambda ps: ps + [Posting(7, 1, "c", "2026-01", 0, 1)], (7, 1, "inserted")),
    (lambda ps: ps + [ps[0]], (1, 1, "posting repeated")),
])
def test_an_edited_missing_or_inserted_posting_is_named(tamper, fault):
    es = entries(2)
    [found] = posting_faults(es, tamper([p for e in es for p in postings_of(e)]))
    assert (found["seq"], found["leg_no"]) == fault[:2] and found["reason"].startswith(fault[2])


def test_posting_faults_are_bounded():
    es = entries(3)
    assert len(posting_faults(es, [], limit=4)) == 4


def test_a_key_ring_holds_every_key_in_the_pem_texts_by_key_id():
    old, new, other = generate_signing_key(), generate_signing_key(), generate_signing_key()
    ring = load_key_ring(public_key_pem(old) + public_key_pem(new), public_key_pem(other).encode())
    assert set(ring) == {key_fingerprint(k.public_key()) for k in (old, new, other)}
    with pytest.raises(LedgerError):
        load_key_ring("no key here")


def test_after_rotation_old_checkpoints_verify_with_the_old_key_and_new_ones_with_the_new():
    old, new = generate_signing_key(), generate_signing_key()
    cp1 = sign_checkpoint(old, key_fingerprint(old.public_key()), 1, "a" * 64, T0)
    cp2 = sign_checkpoint(new, key_fingerprint(new.public_key()), 2, "b" * 64, T0 + timedelta(hours=1))
    both = load_key_ring(public_key_pem(old), public_key_pem(new))
    signed = [(cp1, public_key_pem(old)), (cp2, public_key_pem(new))]
    assert checkpoint_faults(signed, {1: "a" * 64, 2: "b" * 64}, 2, both) == []
    only_new = load_key_ring(public_key_pem(new))
    assert checkpoint_faults(signed, {1: "a" * 64, 2: "b" * 64}, 2, only_new) == [
        {"seq": 1, "reason": f"signed with key '{cp1.key_id}', which is not a pinned key"}]


def test_a_checkpoint_resigned_by_another_key_fails_against_the_pin_whatever_key_it_carries():
    genuine, forger = generate_signing_key(), generate_signing_key()
    ring = load_key_ring(public_key_pem(genuine))
    own_id = sign_checkpoint(forger, key_fingerprint(forger.public_key()), 1, "a" * 64, T0)
    stolen_id = sign_checkpoint(forger, key_fingerprint(genuine.public_key()), 1, "a" * 64, T0)
    assert "not a pinned key" in checkpoint_fault(ring, own_id)
    assert checkpoint_fault(ring, stolen_id) == "signature does not verify with the pinned key"
    # the old rule (the key carried beside the checkpoint) let both through
    assert checkpoint_faults([(own_id, public_key_pem(forger))], {1: "a" * 64}, 1, None) == []


def test_development_pins_the_signing_keys_public_half_and_production_requires_a_pin(tmp_path):
    key = generate_signing_key()
    development = pinned_keys(Settings.model_construct(environment="development"), key)
    assert set(development) == {key_fingerprint(key.public_key())}
    with pytest.raises(SystemExit, match="must pin"):
        pinned_keys(Settings.model_construct(environment="production"), key)
    old = generate_signing_key()
    ring_file = tmp_path / "ledger-keys.pem"
    ring_file.write_text(public_key_pem(old) + public_key_pem(key))
    ring = pinned_keys(Settings.model_construct(environment="production", ledger_public_key_file=ring_file), key)
    assert set(ring) == {key_fingerprint(k.public_key()) for k in (old, key)}
    with pytest.raises(SystemExit, match="announce it first"):
        pinned_keys(Settings.model_construct(environment="production", ledger_public_key=public_key_pem(old)), key)
    with pytest.raises(SystemExit, match="PUBLIC_KEY"):
        pinned_keys(Settings.model_construct(ledger_public_key="garbage"), key)
