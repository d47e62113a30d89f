"""Benchmark: python-hl7 `hl7.parse` vs our parse (+ validation + mapping) on synthetic ORU^R01.

Run: .venv/bin/python bench/hl7_parse.py [--seconds 3] [--json out.json]
Single thread, same messages for every contender, warm-up then best-of-N repeats.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable

import hl7

from data_exchange.hl7 import check_header, check_structure, parse, to_records

N_MESSAGES = 200
N_OBX = 12

_ITEMS = [
    ("WBC", "白细胞计数", "10*9/L", "3.5-9.5", 3.5, 9.5),
    ("RBC", "红细胞计数", "10*12/L", "4.3-5.8", 4.3, 5.8),
    ("HGB", "血红蛋白", "g/L", "130-175", 130, 175),
    ("PLT", "血小板计数", "10*9/L", "125-350", 125, 350),
    ("NEUT%", "中性粒细胞百分比", "%", "40-75", 40, 75),
    ("LYMPH%", "淋巴细胞百分比", "%", "20-50", 20, 50),
    ("HCT", "红细胞压积", "L/L", "0.40-0.50", 0.40, 0.50),
    ("MCV", "平均红细胞体积", "fL", "82-100", 82, 100),
    ("MCH", "平均红细胞血红蛋白量", "pg", "27-34", 27, 34),
    ("MCHC", "平均红细胞血红蛋白浓度", "g/L", "316-354", 316, 354),
    ("CRP", "C反应蛋白", "mg/L", "0-10", 0, 10),
    ("GLU", "葡萄糖", "mmol/L", "3.9-6.1", 3.9, 6.1),
]
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def _resident_id(rng: random.Random) -> str:
    body = f"110105{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
           f"{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def build_message(i: int, rng: random.Random) -> bytes:
    """One synthetic ORU^R01 of about 1.5 KB with N_OBX results (invented patient)."""
    day = rng.randint(1, 28)
    ts = f"202611{day:02d}{rng.randint(7, 18):02d}{rng.randint(0, 59):02d}00"
    name = rng.choice(_SURNAMES) + "^" + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))
    segs = [
        f"MSH|^~\\&|LIS|H{i % 7 + 1:03d}|ALLIANCE|HUB|{ts}+0800||ORU^R01^ORU_R01|"
        f"MSG{i:08d}|P|2.5.1|||AL|NE|CHN|UNICODE UTF-8",
        f"PID|1||MRN{rng.randint(10**6, 10**7 - 1)}^^^H001^MR~{_resident_id(rng)}^^^CHN^NNCHN||"
        f"{name}^^^^^L||19{rng.randint(30, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}|"
        f"{rng.choice('MF')}|||示例路{rng.randint(1, 999)}号^^北京^^100000^CHN||"
        f"1380000{rng.randint(0, 9999):04d}",
        f"PV1|1|O|0{rng.randint(100, 999)}^^^H001|||||||||||||||V{i:010d}",
        f"ORC|RE|PO{i:010d}|FO{i:010d}",
        f"OBR|1|PO{i:010d}|FO{i:010d}^LIS|CBC^血常规^LOCAL|||{ts}|||||||||||||||{ts}|||F",
    ]
    for n, (code, text, unit, ref, lo, hi) in enumerate(_ITEMS[:N_OBX], 1):
        value = round(rng.uniform(lo * 0.7, hi * 1.3), 2)
        flag = "L" if value < lo else "H" if value > hi else "N"
        performer = f"|||||||||^^^^^^^^^LAB0{i % 3 + 1}" if n == 1 else ""
        segs.append(f"OBX|{n}|NM|{code}^{text}^LOCAL||{value}|{unit}|{ref}|{flag}|||F|||{ts}"
                    f"{performer}")
    return ("\r".join(segs) + "\r").encode("utf-8")


def _rate(fn: Callable[[bytes | str], object], items: list, seconds: float,
          repeats: int) -> float:
    """Best messages/second over `repeats` timed passes sized to take ~seconds/repeats each."""
    for item in items:  # warm-up
        fn(item)
    start = time.perf_counter()
    fn_loops = 0
    while time.perf_counter() - start < 0.2:
        for item in items:
            fn(item)
        fn_loops += 1
    per_loop = (time.perf_counter() - start) / fn_loops
    loops = max(1, int(seconds / repeats / per_loop))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(loops):
            for item in items:
                fn(item)
        best = min(best, time.perf_counter() - t0)
    return loops * len(items) / best


def _ours_full(raw: bytes) -> object:
    msg = parse(raw)
    check_header(msg)
    check_structure(msg)
    return to_records(msg)


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print (and optionally write) the rates and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time budget per contender")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes; the best one counts")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    rng = random.Random(20261123)
    raws = [build_message(i, rng) for i in range(N_MESSAGES)]
    texts = [r.decode("utf-8") for r in raws]
    assert len(set(raws)) == N_MESSAGES
    for raw in raws:  # every message must be valid for all contenders
        records, issues = _ours_full(raw)
        assert len(records) == 1 and not issues, issues
    avg = sum(map(len, raws)) / len(raws)

    a = _rate(hl7.parse, texts, args.seconds, args.repeats)
    b = _rate(_ours_full, raws, args.seconds, args.repeats)
    c = _rate(parse, raws, args.seconds, args.repeats)
    figures = {
        "messages": N_MESSAGES,
        "avg_bytes": round(avg),
        "obx_per_message": N_OBX,
        "python_hl7_parse_per_s": round(a),
        "ours_parse_validate_map_per_s": round(b),
        "ours_parse_per_s": round(c),
        "ratio_full_vs_python_hl7": round(b / a, 2),
        "ratio_parse_vs_python_hl7": round(c / a, 2),
        "python": platform.python_version(),
        "python_hl7": getattr(hl7, "__version__", "?"),
    }
    print(f"{N_MESSAGES} distinct ORU^R01, {N_OBX} OBX each, avg {avg:.0f} bytes; "
          f"best of {args.repeats}, ~{args.seconds:g}s each")
    print(f"(a) python-hl7 hl7.parse(str)                    {a:>10,.0f} msg/s")
    print(f"(b) ours parse+check_header+check_structure+map  {b:>10,.0f} msg/s   "
          f"(b)/(a) = {b / a:.1f}x")
    print(f"(c) ours parse(bytes)                            {c:>10,.0f} msg/s   "
          f"(c)/(a) = {c / a:.1f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
