"""Benchmark: award computation for a group-purchasing round of 500 items × 30 suppliers × 50 hospitals.

Times `award_round` (exact lowest total cost per item under capacity caps and tiered all-units/incremental
bids, at most 3 suppliers per item) plus `allocate_commitments` for every hospital. Anchor, same run:
pricing every bid at the full volume of its item (what any award must at least do once).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from procurement.domain.award import allocate_commitments, award_round, cost, synthetic_round


def run(items: int, suppliers: int, hospitals: int, repeat: int) -> dict:
    volumes, bids, baselines, commitments = synthetic_round(1, items=items, suppliers=suppliers, hospitals=hospitals)
    award_times, anchor_times = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = award_round(volumes, bids, baselines)
        for item in result.items:
            if item.lines:
                allocate_commitments(commitments[item.item_code], item.lines)
        t1 = time.perf_counter()
        for b in bids:
            cost(b, volumes[b.item_code])
        t2 = time.perf_counter()
        award_times.append(t1 - t0)
        anchor_times.append(t2 - t1)
    best, anchor = min(award_times), min(anchor_times)
    split = sum(1 for i in result.items if len(i.lines) > 1)
    return {"items": items, "suppliers": suppliers, "hospitals": hospitals, "bids": len(bids),
            "award_seconds": round(best, 3), "anchor_price_every_bid_seconds": round(anchor, 4),
            "ratio_vs_anchor": round(best / anchor, 1), "split_awards": split,
            "saving_fen": result.saving_fen, "baseline_total_fen": result.baseline_total_fen}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=500)
    ap.add_argument("--suppliers", type=int, default=30)
    ap.add_argument("--hospitals", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    f = run(args.items, args.suppliers, args.hospitals, args.repeat)
    print(f"Award of {f['items']} items x {f['suppliers']} suppliers x {f['hospitals']} hospitals: "
          f"{f['award_seconds']} s ({f['split_awards']} split awards); pricing every bid once "
          f"{f['anchor_price_every_bid_seconds']} s; ratio {f['ratio_vs_anchor']}")
    if args.json:
        Path(args.json).write_text(json.dumps(f, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
