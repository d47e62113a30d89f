"""Generate Python code for every .proto under proto/ into libs/contracts/src (or --out); --check compares."""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
TARGET = ROOT / "libs" / "contracts" / "src"
HEADER = "# Generated from proto/ by scripts/gen_proto.py. Do not edit.\n"


def generate(out: Path) -> None:
    """Run protoc (from grpcio-tools) over all protos and add package __init__ files."""
    files = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", f"--pyi_out={out}",
            f"--grpc_python_out={out}", *files]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for directory in [out / "alliance", *(p for p in (out / "alliance").rglob("*") if p.is_dir())]:
        init = directory / "__init__.py"
        if not init.exists():
            init.write_text(HEADER)


def tree(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        if opts.check:
            want = tree(fresh)
            have = {k: v for k, v in tree(TARGET).items() if k.startswith("alliance/")}
            stale = sorted(k for k in want.keys() | have.keys()
                           if k not in want or k not in have or not filecmp.cmp(want[k], have[k], shallow=False))
            if stale:
                print("generated code is stale; run `make proto`:", *stale, sep="\n  ", file=sys.stderr)
                return 1
            print(f"generated code is up to date ({len(want)} files)")
            return 0
        shutil.rmtree(TARGET / "alliance", ignore_errors=True)
        shutil.copytree(fresh / "alliance", TARGET / "alliance")
        print(f"generated {len(tree(fresh))} files into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
