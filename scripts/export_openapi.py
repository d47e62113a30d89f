"""Write each service's OpenAPI document to docs/openapi/<service>.json (--check: fail if stale)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from alliance_service import build_runtime

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "openapi"
PACKAGES = ["data_exchange", "referral", "procurement", "cost_sharing", "results_mutual_recognition"]


def documents() -> dict[str, str]:
    docs = {}
    for package in PACKAGES:
        spec = importlib.import_module(f"{package}.bootstrap").SPEC
        settings = spec.settings_type(database_url="postgresql+asyncpg://doc@127.0.0.1:1/doc",
                                      kafka_bootstrap="127.0.0.1:1", jwks="unused.json")
        runtime = build_runtime(spec, settings)
        docs[spec.name] = json.dumps(runtime.app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return docs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    check = parser.parse_args().check
    stale = []
    for name, text in documents().items():
        path = OUT / f"{name}.json"
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("OpenAPI documents are stale; run `make contracts`:", *stale, sep="\n  ", file=sys.stderr)
        return 1
    print("OpenAPI documents " + ("are up to date" if check else f"written to {OUT.relative_to(ROOT)}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
