"""How often ``validate`` calls an entry's timing noisy (ESR509) on this machine.

Validates one submission N times on the smoke set (local runner, CPU, 5 runs) with the shipped
rule, and tallies from each JSON report: ESR509, ESR521, whether a confirmation round ran,
and what the runs alone were judged beside the reference timed after them (run_cv over
3 %, over twice the clock and over machine_factor(5) times machine_cv: the rule before the
confirmation round, on the same reports). docs/metrics.md quotes its output.

    .venv/bin/python scripts/noise_rate.py sample_submission/team01_TinyESR.zip -n 30
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esr_validator.noise import CLOCK_FACTOR, NOISY_CV, machine_factor  # noqa: E402
from esr_validator.signing.verify import read_report  # noqa: E402


def _one(zip_path: Path, out: Path) -> dict[str, object]:
    cmd = [
        sys.executable, "-m", "esr_validator", "validate", str(zip_path), "--runner", "local",
        "--device", "cpu", "--runs", "5", "--stable-runs", "5", "--warmup", "1",
        "--format", "json", "--out", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=False)
    report = read_report(out)
    codes = {f.code for f in report.findings}
    stable = report.stable
    assert stable is not None and stable.run_cv is not None and stable.runtime_ms is not None
    run_cv, machine = stable.run_cv, stable.machine_cv
    res, ms = stable.resolution_ms or 0.0, stable.runtime_ms
    alone = bool(
        machine is not None
        and run_cv > NOISY_CV
        and run_cv * ms > CLOCK_FACTOR * res
        and run_cv > machine_factor(5) * machine
    )
    return {
        "ESR509": "ESR509" in codes,
        "ESR521": "ESR521" in codes,
        "confirmed": stable.confirm_cv is not None,
        "runs_beside_machine": alone,
        "run_cv": run_cv,
        "confirm_cv": stable.confirm_cv,
        "machine_cv": machine,
        "confirm_machine_cv": stable.confirm_machine_cv,
        "load": os.getloadavg()[0],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("zip", type=Path)
    ap.add_argument("-n", type=int, default=20, help="reports (default 20)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="esr-noise-") as tmp:
        for i in range(args.n):
            row = _one(args.zip.resolve(), Path(tmp) / f"r{i}.json")
            rows.append(row)
            print(json.dumps(row), flush=True)
    tally = {k: sum(bool(r[k]) for r in rows) for k in rows[0]} if rows else {}
    print(
        f"{args.zip.name}: {len(rows)} reports; ESR509 {tally.get('ESR509', 0)}, "
        f"ESR521 {tally.get('ESR521', 0)}, confirmation rounds {tally.get('confirmed', 0)}; "
        f"the runs beside the machine alone would have been flagged "
        f"{tally.get('runs_beside_machine', 0)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
