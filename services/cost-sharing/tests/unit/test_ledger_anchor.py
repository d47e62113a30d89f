"""The feed verifier from a signed checkpoint (a trust anchor): what survives the topic's retention."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cost_sharing.domain.ledger import (
    EntryDraft,
    Leg,
    generate_signing_key,
    key_fingerprint,
    load_key_ring,
    post,
    public_key_pem,
    sign_checkpoint,
)
from cost_sharing.ledger_cli import (
    AnchorError,
    checkpoint_json,
    checkpoints_from_file,
    choose_anchor,
    verify_feed,
)

T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
KEY = generate_signing_key()
RING = load_key_ring(public_key_pem(KEY))


def chain(n: int):
    out, prev = [], None
    for seq in range(1, n + 1):
        prev = post(prev, EntryDraft("t", f"ref-{seq}", "2026-01", (Leg("a", debit_fen=seq), Leg("b", credit_fen=seq)),
                                     "m", T0), f"E-{seq}", T0 + timedelta(seconds=seq))
        out.append(prev)
    return out


def signed(entries, seq, key=KEY):
    cp = sign_checkpoint(key, key_fingerprint(key.public_key()), seq, entries[seq - 1].hash, T0 + timedelta(hours=seq))
    return cp, public_key_pem(key)


ALL = chain(10)
CPS = [signed(ALL, 4), signed(ALL, 7)]


def retained(first: int):
    """The feed after retention deleted every entry before seq ``first``."""
    return {e.seq: e for e in ALL if e.seq >= first}


def test_the_whole_feed_verifies_from_genesis_and_names_the_checkpoint_to_save():
    result = verify_feed(retained(1), CPS, RING)
    assert result["ok"] and result["entries_checked"] == 10 and result["latest_checkpoint"]["seq"] == 7


def test_a_feed_missing_its_first_entries_fails_from_genesis():
    result = verify_feed(retained(3), [CPS[1]], RING)
    assert not result["ok"] and result["first_broken_seq"] == 3 and "expected 1" in result["reason"]


@pytest.mark.parametrize("spec, first_checked", [("earliest", 3), ("latest", 3), ("7", 3)])
def test_a_retained_feed_verifies_from_a_checkpoint_before_and_after_it(spec, first_checked):
    anchor = choose_anchor([cp for cp, _ in CPS], spec, 3)
    result = verify_feed(retained(3), CPS, RING, anchor)
    assert result["ok"], result
    assert result["entries_checked"] == 8 and result["first_seq_checked"] == first_checked
    assert result["head_hash"] == ALL[-1].hash and result["anchor"]["seq"] == anchor.seq


def test_earliest_skips_checkpoints_the_retained_entries_no_longer_reach():
    assert choose_anchor([cp for cp, _ in CPS], "earliest", 6).seq == 7
    result = verify_feed(retained(6), CPS, RING, choose_anchor([cp for cp, _ in CPS], "earliest", 6))
    assert result["ok"] and result["entries_checked"] == 5     # the checkpoint at 4: its signature only


def test_an_anchor_older_than_the_retained_feed_reports_the_gap():
    result = verify_feed(retained(7), CPS, RING, CPS[0][0])
    assert not result["ok"] and result["first_broken_seq"] == 7 and "expected 5" in result["reason"]


def test_a_forged_anchor_fails():
    cp = CPS[1][0]
    stranger = signed(ALL, 7, generate_signing_key())[0]
    for forged, why in [(replace(cp, head_hash="f" * 64), "does not verify"),
                        (replace(cp, seq=6, entries=6), "does not verify"),
                        (stranger, "not a pinned key")]:
        result = verify_feed(retained(3), CPS, RING, forged)
        assert not result["ok"] and why in result["anchor_fault"] and result["latest_checkpoint"] is None


def test_an_anchor_needs_pinned_keys():
    result = verify_feed(retained(3), CPS, None, CPS[1][0])
    assert not result["ok"] and "pinned key" in result["anchor_fault"]


def test_entries_after_the_anchor_must_chain_from_its_head():
    entries = retained(3)
    entries[8] = replace(entries[8], memo="edited")
    result = verify_feed(entries, CPS, RING, CPS[1][0])
    assert not result["ok"] and result["first_broken_seq"] == 8 and "altered" in result["reason"]


def test_entries_before_the_anchor_must_chain_into_its_head():
    entries = retained(3)
    entries[5] = replace(entries[5], memo="edited")
    result = verify_feed(entries, CPS, RING, CPS[1][0])
    assert not result["ok"] and result["first_broken_seq"] == 5


def test_a_saved_run_is_read_back_as_its_latest_checkpoint():
    saved = json.dumps(verify_feed(retained(1), CPS, RING))
    [cp] = checkpoints_from_file(saved)
    assert cp == CPS[1][0] and checkpoint_json(cp)["seq"] == 7
    assert checkpoints_from_file(json.dumps([checkpoint_json(c) for c, _ in CPS])) == [c for c, _ in CPS]


@pytest.mark.parametrize("text", ["nope", "{}", '{"latest_checkpoint": null}', '[1]',
                                  '{"seq": "1", "head_hash": "x", "signed_at": "2026-01-01T00:00:00Z", '
                                  '"key_id": "k", "signature": "s"}',
                                  '{"seq": 1, "head_hash": "x", "signed_at": "2026-01-01T00:00:00", '
                                  '"key_id": "k", "signature": "s"}'])
def test_an_unreadable_checkpoint_file_is_refused(text):
    with pytest.raises(AnchorError):
        checkpoints_from_file(text)


def test_an_unknown_anchor_is_refused():
    with pytest.raises(AnchorError):
        choose_anchor([cp for cp, _ in CPS], "5", 1)
    with pytest.raises(AnchorError):
        choose_anchor([cp for cp, _ in CPS], "first", 1)
