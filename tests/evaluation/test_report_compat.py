"""The sample's report is the one version 0.1.0 made, apart from version, timestamps and timings.

``tests/fixtures/reports/sample_v0.1.0.json`` was written by the last 0.1 commit (b345502) with
``validate sample_submission/team01_TinyESR.zip --runner local``. A restructuring must not change
what a report says: same findings, PSNR per image, complexity, options, digests and gates.
Fields a later version adds are allowed; none may disappear or change, except the
intended changes listed in ``INTENDED``, each with the issue that made it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from esr_validator.cli import main
from tests.scripts import ROOT, load_script

GOLDEN = ROOT / "tests" / "fixtures" / "reports" / "sample_v0.1.0.json"
SAMPLE = ROOT / "sample_submission" / "team01_TinyESR.zip"
# Differences a later issue made on purpose: path prefix of the difference → why.
INTENDED = {
    ".findings": "issue 13: on smoke data the PSNR gates do not apply (no psnr-gate-failed)",
    ".scoring.gates": "issue 13: a gate on smoke data is 'not applicable', never 'passed'",
    ".scoring.reasons": "issue 13: smoke-data gates give no ineligibility reason",
    ".scoring.ruleset_version": "issue 13: the rulesets' constants were corrected (2.0.0)",
    ".submission.zip_sha256": "issue 15: the sample's manifest carries a #:schema directive",
}


def test_comparison_catches_a_changed_figure() -> None:
    compare = load_script("compare_reports")
    old = compare.payload(GOLDEN)
    assert compare.compare(old, old) == []
    changed = json.loads(json.dumps(old))
    changed["images"][0]["psnr"] += 0.01
    changed["started_at"] = "2030-01-01T00:00:00Z"  # masked: a timestamp
    assert [d.split(":")[0] for d in compare.compare(old, changed)] == [".images[0].psnr"]
    dropped = {k: v for k, v in old.items() if k != "complexity"}
    assert compare.compare(old, dropped, additions=True) == [".complexity: only in old"]


@pytest.mark.slow
def test_sample_report_is_unchanged_since_0_1(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["validate", str(SAMPLE), "--runner", "local", "--no-progress", "--out", str(out)]
    assert main([*args, "--format", "json"]) == 0
    compare = load_script("compare_reports")
    found = compare.compare(
        compare.payload(GOLDEN), compare.payload(out), portable=True, additions=True
    )
    unexplained = [d for d in found if not any(d.startswith(p) for p in INTENDED)]
    assert unexplained == []
