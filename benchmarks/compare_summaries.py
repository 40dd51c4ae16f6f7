"""Compare two summary.json files, ignoring wall-clock entries and the model/data paths.

    python benchmarks/compare_summaries.py before/summary.json after/summary.json [--digits 4]

Prints every difference; with ``--digits D`` two floats that agree when rounded to D decimals
count as equal (for comparing runs written under different rounding rules). Exits 1 if any
difference remains, so it can check refactors and executors (local vs Ray) for identity.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

IGNORED = {"timings", "seconds", "path", "argv", "wall_s", "cached"}  # cached: a cache hit, like a timing


def differences(a: Any, b: Any, digits: int | None, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key in IGNORED:
                continue
            if key not in a or key not in b:
                out.append(f"{where}/{key}: only in {'second' if key in b else 'first'}")
            else:
                out += differences(a[key], b[key], digits, f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, digits, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and digits is not None:
        return [] if round(a, digits) == round(b, digits) else [f"{where}: {a} vs {b}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--digits", type=int, default=None)
    args = parser.parse_args()
    with open(args.first) as f1, open(args.second) as f2:
        found = differences(json.load(f1), json.load(f2), args.digits)
    for line in found:
        print(line)
    print(f"{len(found)} differences")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
