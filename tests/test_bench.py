"""`scripts/bench --quick` runs every benchmark end to end and prints a well-formed result.

This checks that the benchmark works, never how fast anything is: targets are
printed by the benchmark, not asserted by tests (a loaded CI machine is not a
measurement).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_everything_and_writes_its_results(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([str(ROOT / "scripts" / "bench"), "--quick", "--out", str(out), "--cache", str(tmp_path / "cache")],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    r = results["R"]
    assert r > 0 and results["quick"] is True
    for name in ("single", "federation", "audit"):
        assert results[name]["ratio_to_R"] > 0, name
    assert results["single"]["committed"] == results["single"]["txs"]
    assert results["single"]["refused"] == 0
    assert results["audit"]["ok"] is True and results["audit"]["txs"] >= results["single"]["committed"]
    assert results["finality"]["committed"] == results["finality"]["submitted"] > 0
    assert 0 < results["finality"]["p50_s"] <= results["finality"]["p99_s"] <= results["finality"]["max_s"]
    attack = results["attack"]
    assert attack["legit"]["committed"] == attack["legit"]["submitted"] > 0 and attack["legit"]["refused"] == {}
    assert 0 < attack["legit"]["p50_s"] <= attack["legit"]["p99_s"] <= attack["legit"]["max_s"]
    assert attack["unloaded_p99_s"] == results["finality"]["p99_s"] and attack["p99_vs_unloaded"] > 0
    flood = attack["attacker"]
    assert flood["strangers"]["sent"] > 0 and flood["parking"]["sent"] > 0
    assert attack["refused"]["UNKNOWN_SIGNER"] == flood["strangers"]["answers"]["UNKNOWN_SIGNER"] > 0
    assert flood["idle_api"]["opened"] >= flood["idle_api"]["held"] > 0 and flood["silent_p2p"]["opened"] > 0
    market = results["market"]
    assert market["settled"] == market["orders"] > 0 and market["refused"] == market["failed"] == 0
    assert market["checks"]["escrowed"] == 0 and market["vs_single"] > 0
    small, large = results["scale"]["runs"]
    assert small["accounts"] < large["accounts"] and small["rss_mb"] > 0 and large["commit_ms_median"] > 0
    disk = results["disk"]
    assert disk["transfers"] == results["single"]["committed"] and disk["bytes_per_transfer"] > 0
    assert {row["prefix"] for row in disk["prefixes"] if row["disk_bytes"] > 0} >= {"b", "t", "x"}
    assert 0 < results["rss"]["node_peak_rss_mb"] == results["single"]["node_peak_rss_mb"]
    started = results["restart"]
    assert started["txs"] == 20_000 and started["worst_s"] > 0 and started["phases"]["key_unlock"] > 0
    assert {s["validators"] for s in results["sim"]} >= {4, 16, 64}
    assert all(s["rounds_mean"] >= 1 for s in results["sim"])
    table = proc.stdout
    for label in ("R (Ed25519", "single:", "federation:", "audit:", "finality", "finality under attack:", "market:", "scale:",
                  "sim n = 64", "disk:", "rss:", "restart:"):
        assert label in table, label
