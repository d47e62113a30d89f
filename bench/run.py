"""`make bench`: every benchmark next to its anchor, measured in one run; writes bench/results/latest.{json,md}."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"


# Each benchmark with its full arguments and the short ones `make test` runs (tests/bench), so none can rot.
PLAN: dict[str, tuple[str, list[str], list[str]]] = {
    "hl7_parse": ("hl7_parse.py", ["--seconds", "3"], ["--seconds", "0.2", "--repeats", "1"]),
    "mllp_ingest": ("mllp_ingest.py", ["--messages", "2000", "--connections", "8"],
                    ["--messages", "40", "--connections", "2"]),
    "recognition": ("recognition_latency.py", ["--results", "100000", "--checks", "1000"],
                    ["--results", "2000", "--patients", "200", "--checks", "60"]),
    "referral_routing": ("referral_routing.py", ["--hospitals", "200", "--requests", "500"],
                         ["--hospitals", "20", "--requests", "30"]),
    "procurement_award": ("procurement_award.py", ["--items", "500", "--suppliers", "30", "--hospitals", "50"],
                          ["--items", "20", "--suppliers", "4", "--hospitals", "5", "--repeat", "1"]),
    "settlement": ("settlement_throughput.py", ["--referrals", "2000"], ["--referrals", "40"]),
    "http_anchor": ("http_anchor.py", ["--requests", "3000"], ["--requests", "100"]),
    "fhir_writes": ("fhir_writes.py", ["--creates", "1000", "--bundles", "20", "--searches", "2000"],
                    ["--creates", "16", "--bundles", "1", "--searches", "16"]),
}
HEADLINES = {  # figure per benchmark whose change between runs is printed (higher is better unless noted)
    "hl7_parse": ("ours_parse_validate_map_per_s", "msg/s"), "mllp_ingest": ("end_to_end_per_s", "msg/s"),
    "recognition": ("p99_ms", "ms p99"), "referral_routing": ("p99_ms", "ms p99"),
    "procurement_award": ("award_seconds", "s"), "settlement": ("entries_per_s", "entries/s"),
    "http_anchor": ("ratio_vs_bare_fastapi", "x bare FastAPI"),
    "fhir_writes": ("patient_creates_per_s", "FHIR Patient creates/s"),
}


def _run(out: Path, script: str, *args: str) -> dict:
    target = out / f"{Path(script).stem}.json"
    subprocess.run([sys.executable, str(HERE / script), *args, "--json", str(target)], check=True)
    return json.loads(target.read_text())


def measure(out: Path, short: bool) -> dict:
    """Run every benchmark (full or short) and return the figures by name."""
    out.mkdir(parents=True, exist_ok=True)
    return {name: _run(out, script, *(quick if short else full)) for name, (script, full, quick) in PLAN.items()}


def changes(previous: dict | None, current: dict) -> list[str]:
    """One line per headline figure: this run against the previous one in the history."""
    lines = []
    for name, (key, unit) in HEADLINES.items():
        now = current.get(name, {}).get(key)
        before = (previous or {}).get(name, {}).get(key)
        if now is None:
            continue
        if before in (None, 0):
            lines.append(f"{name}: {now} {unit} (no previous run)")
        else:
            lines.append(f"{name}: {now} {unit}, was {before} ({(now - before) / before:+.0%})")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true", help="small counts: proves every benchmark still runs")
    ap.add_argument("--out", type=Path, default=OUT, help="where the per-benchmark JSON files go")
    args = ap.parse_args()
    if args.short:
        figures = measure(args.out, short=True)
        (args.out / "short.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps({name: HEADLINES[name][0] + "=" + str(f.get(HEADLINES[name][0]))
                          for name, f in figures.items()}, indent=1))
        return 0
    OUT.mkdir(exist_ok=True)
    measured = measure(OUT, short=False)
    parse, ingest, recognition, routing = (measured["hl7_parse"], measured["mllp_ingest"], measured["recognition"],
                                           measured["referral_routing"])
    award, settle, http = measured["procurement_award"], measured["settlement"], measured["http_anchor"]
    fw = measured["fhir_writes"]
    bare = fw["anchor_bare_insert"]
    figures = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
               "cpus": os.cpu_count(), "hl7_parse": parse, "mllp_ingest": ingest, "recognition": recognition, "referral_routing": routing,
               "procurement_award": award, "settlement": settle,
               "http_anchor": http, "fhir_writes": fw}
    (OUT / "latest.json").write_text(json.dumps(figures, indent=2) + "\n")
    history = OUT / "history.jsonl"
    runs = [json.loads(line) for line in history.read_text().splitlines() if line.strip()] if history.exists() else []
    with history.open("a") as f:
        f.write(json.dumps(figures) + "\n")
    (OUT / "latest.md").write_text(f"""# Benchmarks ({figures['measured_at']}, {figures['cpus']} CPUs)

| figure | ours | anchor (same run) | ratio |
|---|---|---|---|
| HL7 ORU^R01 (12 OBX, {parse['avg_bytes']} B) parse | {parse['ours_parse_per_s']:,} msg/s | python-hl7 `hl7.parse` {parse['python_hl7_parse_per_s']:,} msg/s | {parse['ratio_parse_vs_python_hl7']}x |
| HL7 parse + validate + normalise | {parse['ours_parse_validate_map_per_s']:,} msg/s | python-hl7 parse only | {parse['ratio_full_vs_python_hl7']}x |
| MLLP ingest: message in → ACK out ({ingest['connections']} connections) | {ingest['acks_per_s']:,} msg/s | python-hl7 parse {ingest['python_hl7_parse_per_s']:,} msg/s | {ingest['ratio_acks_vs_python_hl7_parse']}x |
| MLLP ingest end to end: ACK + {ingest['events'] // ingest['messages']} events each on Kafka | {ingest['end_to_end_per_s']:,} msg/s | | |
| CheckRecognition over HTTP, {recognition['results_indexed']:,} results indexed, 3 items | p50 {recognition['p50_ms']} ms, p99 {recognition['p99_ms']} ms | raw asyncpg indexed query p50 {recognition['anchor_raw_query_p50_ms']} ms | {recognition['ratio_p50_vs_raw_query']}x |
| Group-purchase award, {award['items']} items × {award['suppliers']} suppliers × {award['hospitals']} hospitals ({award['bids']:,} tiered bids, {award['split_awards']} split) | {award['award_seconds']} s | pricing every bid once {award['anchor_price_every_bid_seconds']} s | {award['ratio_vs_anchor']}x |
| Settlement: ReferralCompleted in → 2 hash-chained ledger entries posted ({settle['referrals']:,} referrals) | {settle['referrals_per_s']:,} referrals/s ({settle['entries_per_s']:,} entries/s; {settle['referrals_per_s_to_feed']:,}/s on the regulators' feed) | raw aiokafka consume+produce {settle['anchor_raw_consume_produce_per_s']:,} records/s | {settle['ratio_vs_raw_consume_produce']}x |
| Authenticated read (procurement `GET /v1/items/{{code}}`: JWT + PostgreSQL), 8 connections from another process | {http['ours_per_s']:,} req/s | bare FastAPI endpoint {http['anchor_bare_fastapi_per_s']:,} req/s | {http['ratio_vs_bare_fastapi']}x |
| Referral request routed over {routing['hospitals']} hospitals (HTTP, incl. the care-relationship check over gRPC, create + offer + outbox) | p50 {routing['p50_ms']} ms, p99 {routing['p99_ms']} ms | raw asyncpg candidate query p50 {routing['anchor_raw_query_p50_ms']} ms; bare ResolvePatient gRPC p50 {routing['anchor_resolve_patient_p50_ms']} ms | {routing['ratio_p50_vs_raw_query']}x |
| FHIR Patient create ({fw['concurrency']} clients, {fw['creates']:,} new people: MPI + store + outbox) | {fw['patient_create']['per_s']:,} /s, p50 {fw['patient_create']['p50_ms']} ms, p99 {fw['patient_create']['p99_ms']} ms | bare FastAPI + asyncpg insert {bare['per_s']:,} /s, p99 {bare['p99_ms']} ms | {fw['ratio_patient_create_vs_bare_insert']}x |
| FHIR Observation create referencing a Patient ({fw['concurrency']} clients) | {fw['observation_create']['per_s']:,} /s, p50 {fw['observation_create']['p50_ms']} ms, p99 {fw['observation_create']['p99_ms']} ms | bare insert {bare['per_s']:,} /s | {round(fw['observation_create']['per_s'] / bare['per_s'], 3)}x |
| FHIR transaction Bundles of {fw['bundle_entries']} entries (50 Patients + 50 Observations) | {fw['bundle_100']['resources_per_s']:,} resources/s | bare insert {bare['per_s']:,} /s | {round(fw['bundle_100']['resources_per_s'] / bare['per_s'], 3)}x |
| FHIR Patient search by MRN identifier (audited, {fw['concurrency']} clients) | {fw['search_by_identifier']['per_s']:,} req/s, p99 {fw['search_by_identifier']['p99_ms']} ms | bare insert {bare['per_s']:,} /s | {round(fw['search_by_identifier']['per_s'] / bare['per_s'], 3)}x |

Single process, one core's worth of Python; Kafka and PostgreSQL share the same 2-CPU machine.
""")
    print((OUT / "latest.md").read_text())
    print("Against the previous run in bench/results/history.jsonl:")
    print("\n".join(changes(runs[-1] if runs else None, figures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
