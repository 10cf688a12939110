"""`scripts/bench`: measure R, then each benchmark; print a table and, with --out, a JSON file.

    scripts/bench                 full run
    scripts/bench --quick         everything small, for development (well under two minutes)
    scripts/bench --only finality one benchmark
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from node.bench.federation import finality
from node.bench.limit import verify_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--only", choices=("finality",), help="run one benchmark")
    parser.add_argument("--rate", type=float, default=500.0, help="offered load of the finality run, tx/s")
    parser.add_argument("--seconds", type=float, default=None, help="length of the finality run")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args(argv)

    started = time.monotonic()
    results: dict = {"quick": args.quick}
    r = verify_rate(1.0 if args.quick else 3.0)
    results["R"] = round(r)
    print(f"R = {r:,.0f} Ed25519 verifications/s (every core)", file=sys.stderr, flush=True)

    seconds = args.seconds or (5.0 if args.quick else 60.0)
    rate = args.rate if not args.quick else min(args.rate, 200.0)
    fin = finality(validators=4, rate=rate, seconds=seconds)
    results["finality"] = dataclasses.asdict(fin) | {"committed_ratio_to_R": fin.committed_tx_per_s / r}
    results["elapsed_s"] = round(time.monotonic() - started, 1)

    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows = [
        ("R (verifications/s, every core)", f"{r:,.0f}", ""),
        (f"federation of {fin.validators}, offered {fin.offered_tx_per_s:.0f} tx/s for {fin.seconds:.0f} s "
         f"(sent at {fin.achieved_offer_tx_per_s:.0f})",
         f"{fin.committed:,}/{fin.submitted:,} committed", f"{fin.committed_tx_per_s:,.0f} tx/s = "
         f"{fin.committed_tx_per_s / r:.3f} R"),
        ("  finality p50 / p99 / max", f"{fin.p50_s * 1000:.0f} / {fin.p99_s * 1000:.0f} / {fin.max_s * 1000:.0f} ms",
         "target ≤ 500 / ≤ 1500 ms"),
        ("  blocks", f"{fin.blocks}", f"{fin.committed / max(fin.blocks, 1):.0f} tx/block"),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>24}  {note}")
    print(f"(run took {results['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
