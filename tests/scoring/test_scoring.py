"""Scores, gates, verdicts, reference-device findings, calibration and leaderboards."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from esr_validator.calibration import calibrate
from esr_validator.errors import UsageError
from esr_validator.ruleset import load_ruleset
from esr_validator.schemas.report import (
    ComplexityFigures,
    DatasetInfo,
    FigureSet,
    Report,
    SplitData,
    SplitFigures,
    SubmissionInfo,
)
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration
from esr_validator.schemas.worker import Environment
from esr_validator.scoring import (
    ScoringInputs,
    competition_ranks,
    on_reference_device,
    rank_field,
    score,
    scoring_findings,
)

E2 = 7.3891
RTX3090 = "NVIDIA GeForce RTX 3090"


def baseline_inputs(ruleset: Ruleset, **changes: object) -> ScoringInputs:
    b = ruleset.baseline
    fields: dict[str, object] = {
        "runtime_ms": b.runtime_ms,
        "flops_g": b.flops_g,
        "params_m": b.params_m,
        "psnr": dict(b.psnr),
        "device": RTX3090,
    }
    return ScoringInputs.model_validate(fields | changes)


@pytest.mark.parametrize("name", ["ntire2024_esr", "ntire2025_esr", "ntire2026_esr"])
def test_baseline_scores_e_squared(name: str) -> None:
    result = score(baseline_inputs(load_ruleset(name)), load_ruleset(name))
    assert {k: round(v, 4) for k, v in result.scores.items()} == {
        "runtime": E2,
        "flops": E2,
        "params": E2,
        "final": E2,
    }
    assert result.eligible and not result.reasons


def test_exp_weighted_final_is_weighted_sum() -> None:
    r = load_ruleset("ntire2024_esr")
    result = score(baseline_inputs(r, runtime_ms=r.baseline.runtime_ms / 2), r)
    assert math.isclose(result.scores["runtime"], math.e)
    assert math.isclose(result.scores["final"], 0.7 * math.e + 0.3 * math.exp(2))


def test_rtsr_published_example() -> None:
    r = load_ruleset("ntire2023_rtsr")
    inputs = ScoringInputs(
        runtime_ms=27.86, flops_g=None, params_m=None, psnr={"test": 32.0}, scale=2
    )
    result = score(inputs, r)
    assert round(result.scores["final"], 4) == 4.6726
    assert result.eligible


@pytest.mark.parametrize("psnr", [31.697655, 31.0])
def test_rtsr_nullified_at_or_below_bicubic(psnr: float) -> None:
    inputs = ScoringInputs(
        runtime_ms=5.0, flops_g=None, params_m=None, psnr={"test": psnr}, scale=3
    )
    result = score(inputs, load_ruleset("ntire2023_rtsr"))
    assert result.scores["final"] == 0.0
    assert not result.eligible and "bicubic" in result.reasons[0]


def test_rtsr_unknown_scale_is_refused() -> None:
    inputs = ScoringInputs(
        runtime_ms=5.0, flops_g=None, params_m=None, psnr={"test": 32.0}, scale=4
    )
    with pytest.raises(UsageError, match="no x4 track"):
        score(inputs, load_ruleset("ntire2023_rtsr"))


@pytest.mark.parametrize(
    ("valid", "test", "eligible"),
    [
        (26.90, 26.99, True),  # exactly at both thresholds: inclusive
        (26.8999999, 26.99, False),
        (26.90, 26.9899999, False),
        (30.0, 30.0, True),
    ],
)
def test_gates_at_exact_thresholds(valid: float, test: float, eligible: bool) -> None:
    r = load_ruleset("ntire2024_esr")
    result = score(baseline_inputs(r, psnr={"valid": valid, "test": test}), r)
    assert result.eligible is eligible
    assert [g.passed for g in result.gates] == [valid >= 26.90, test >= 26.99]
    if not eligible:
        assert any("gate" in reason for reason in result.reasons)


def test_missing_psnr_fails_its_gate() -> None:
    r = load_ruleset("ntire2024_esr")
    result = score(baseline_inputs(r, psnr={"valid": 27.0, "test": None}), r)
    assert not result.eligible and result.reasons == [
        "test PSNR not measured below the 26.99 dB gate"
    ]


def test_development_gate_does_not_decide() -> None:
    r = load_ruleset("ntire2022_esr")
    result = score(baseline_inputs(r, psnr={"valid": 28.97, "test": 28.70}), r)
    dev = [g for g in result.gates if g.phase == "development"]
    assert len(dev) == 1 and not dev[0].passed
    assert result.eligible


def test_missing_measurement_gives_no_final_score() -> None:
    r = load_ruleset("ntire2024_esr")
    result = score(baseline_inputs(r, runtime_ms=None), r)
    assert "final" not in result.scores and not result.eligible
    assert result.reasons == ["no final score: runtime not measured"]


@pytest.mark.parametrize(
    ("device", "name", "expected"),
    [
        (RTX3090, "ntire2024_esr", True),
        ("NVIDIA GeForce RTX 3090 Ti", "ntire2024_esr", False),
        ("NVIDIA RTX A6000", "ntire2025_esr", True),
        ("NVIDIA RTX A6000", "ntire2024_esr", False),
        ("NVIDIA TITAN Xp", "ntire2022_esr", True),
        ("Intel(R) Xeon(R) Processor", "ntire2026_esr", False),
        ("", "ntire2024_esr", False),
    ],
)
def test_on_reference_device(device: str, name: str, expected: bool) -> None:
    assert on_reference_device(device, load_ruleset(name)) is expected


def test_findings_for_device_and_gate() -> None:
    r = load_ruleset("ntire2024_esr")
    on_ref = score(baseline_inputs(r), r)
    assert scoring_findings(on_ref, device=RTX3090) == []
    off = score(baseline_inputs(r, device="NVIDIA H100", psnr={"valid": 26.0, "test": 27.0}), r)
    found = scoring_findings(off, device="NVIDIA H100")
    assert [f.code for f in found] == ["ESR701", "ESR702"]
    assert "NVIDIA H100" in found[1].message and "RTX 3090" in found[1].message


@pytest.mark.parametrize(
    "name", ["ntire2022_esr", "ntire2023_rtsr", "ntire2024_esr", "ntire2025_esr", "ntire2026_esr"]
)
def test_calibration_equal_to_published_changes_nothing(name: str) -> None:
    r = load_ruleset(name)
    inputs = baseline_inputs(r, runtime_ms=9.0, psnr={s: 33.0 for s in r.splits}, scale=r.scales[0])
    published = r.tracks[0].baseline_runtime_ms or r.baseline.runtime_ms
    assert published is not None
    cal = Calibration(
        baseline=r.baseline.name,
        device=RTX3090,
        runtime_ms=published,
        published_runtime_ms=published,
    )
    result = score(inputs, r, calibration=cal)
    assert result.calibrated_scores == result.scores
    assert result.calibration == cal


def test_calibration_uses_local_baseline_runtime() -> None:
    r = load_ruleset("ntire2024_esr")
    # Locally the baseline takes 20 ms; an entry taking 20 ms here equals the baseline.
    cal = Calibration(
        baseline="rlfn", device="NVIDIA H100", runtime_ms=20.0, published_runtime_ms=13.54
    )
    result = score(baseline_inputs(r, runtime_ms=20.0, device="NVIDIA H100"), r, calibration=cal)
    assert result.calibrated_scores is not None
    assert round(result.calibrated_scores["runtime"], 4) == E2
    assert round(result.scores["runtime"], 4) == round(math.exp(2 * 20.0 / 13.54), 4)
    assert not result.on_reference_device


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"baseline": "efdn"}, "baseline is rlfn"),
        ({"device": "NVIDIA RTX A6000"}, "calibration ran on"),
        ({"published_runtime_ms": 16.69}, "published runtime"),
        ({"runtime_ms": 0.0}, "positive"),
    ],
)
def test_calibration_mismatch_is_refused(changes: dict[str, object], message: str) -> None:
    r = load_ruleset("ntire2024_esr")
    fields: dict[str, object] = {
        "baseline": "rlfn",
        "device": RTX3090,
        "runtime_ms": 13.0,
        "published_runtime_ms": 13.54,
    }
    cal = Calibration.model_validate(fields | changes)
    with pytest.raises(UsageError, match=message):
        score(baseline_inputs(r), r, calibration=cal)


def test_competition_ranks_share_the_better_rank() -> None:
    assert competition_ranks({"a": 1.0, "b": 2.0, "c": 2.0, "d": 3.0}) == {
        "a": 1,
        "b": 2,
        "c": 2,
        "d": 4,
    }
    assert competition_ranks({"a": 1.0, "b": 2.0}, descending=True) == {"a": 2, "b": 1}


def _entry(
    rt: float, params: float, flops: float, acts: float, mem: float, valid: float = 29.0
) -> ScoringInputs:
    return ScoringInputs(
        runtime_ms=rt,
        params_m=params,
        flops_g=flops,
        activations_m=acts,
        memory_mb=mem,
        psnr={"valid": valid, "test": 28.7},
    )


def test_rank_sum_field_2022() -> None:
    field = {
        "A": _entry(30, 0.50, 30, 100, 200),
        "B": _entry(40, 0.30, 20, 80, 300),
        "C": _entry(20, 0.90, 60, 150, 100),  # more params than IMDN (0.894 M)
        "D": _entry(40, 0.40, 20, 90, 250),
        "E": _entry(10, 0.10, 5, 10, 50, valid=28.0),  # fails the 28.95 dB valid gate
    }
    boards = rank_field(field, load_ruleset("ntire2022_esr"))
    ranking = {t: [(row.entry, row.rank) for row in rows] for t, rows in boards.items()}
    assert ranking["runtime"] == [("A", 1), ("B", 2), ("D", 2), ("C", None), ("E", None)]
    assert ranking["complexity"] == [("B", 1), ("D", 2), ("A", 3), ("C", 4), ("E", None)]
    assert ranking["overall"] == [("B", 1), ("D", 2), ("A", 3), ("C", 4), ("E", None)]
    overall = {row.entry: row for row in boards["overall"]}
    assert overall["A"].value == 13 and overall["B"].value == 10
    assert overall["A"].metric_ranks == {
        "runtime": 2,
        "params": 3,
        "flops": 3,
        "activations": 3,
        "memory": 2,
    }
    runtime = {row.entry: row for row in boards["runtime"]}
    assert runtime["C"].note is not None and "params" in runtime["C"].note
    assert runtime["E"].note is not None and "valid PSNR" in runtime["E"].note


def test_exp_weighted_field_ranks_lower_first() -> None:
    r = load_ruleset("ntire2024_esr")
    field = [("baseline", baseline_inputs(r)), ("faster", baseline_inputs(r, runtime_ms=10.0))]
    main = rank_field(field, r)["main"]
    assert [(row.entry, row.rank) for row in main] == [("faster", 1), ("baseline", 2)]
    assert main[1].value is not None and round(main[1].value, 4) == E2


def test_rtsr_field_ranks_higher_first_per_scale() -> None:
    def rt(ms: float, psnr: float, scale: int) -> ScoringInputs:
        return ScoringInputs(
            runtime_ms=ms, flops_g=None, params_m=None, psnr={"test": psnr}, scale=scale
        )

    field = {
        "slow": rt(30, 33.0, 2),
        "fast": rt(5, 32.5, 2),
        "blurry": rt(1, 31.0, 2),
        "x3": rt(5, 33.0, 3),
    }
    boards = rank_field(field, load_ruleset("ntire2023_rtsr"))
    assert [(row.entry, row.rank) for row in boards["x2"]] == [
        ("fast", 1),
        ("slow", 2),
        ("blurry", None),
    ]
    assert [row.entry for row in boards["x3"]] == ["x3"]


def _report(*, legacy: float | None) -> Report:
    now = datetime.now(UTC)
    env = Environment(
        python="3.11",
        torch="2.13",
        device="cuda:0",
        gpu_name=RTX3090,
        cpu="Xeon",
        threads=8,
        platform="linux",
    )
    splits = [
        SplitFigures(
            split=s,
            images=2,
            psnr=p,
            official_runtime_ms=10.0,
            official_runtime_ms_per_run=[10.0],
            official_memory_mb=mem,
            stable_runtime_ms=9.0,
        )
        for s, p, mem in (("valid", 27.0, 100.0), ("test", 27.1, 160.0))
    ]
    return Report(
        validator_version="0",
        started_at=now,
        finished_at=now,
        status="evaluated",
        ok=True,
        findings=[],
        submission=SubmissionInfo(zip_name="t.zip", zip_sha256="0" * 64),
        environment=env,
        splits=splits,
        official=FigureSet(protocol="official", runtime_ms=10.0, memory_mb=130.0, description=""),
        complexity=ComplexityFigures(
            params=300_000,
            params_m=0.3,
            params_before_inference=300_000,
            flops=19_000_000_000,
            flops_g=19.0,
            flops_legacy_g=legacy,
            unsupported_ops={},
            activations=80_000_000,
            activations_m=80.0,
            conv_count=39,
            input_dependent=False,
            input_size=256,
        ),
    )


def test_inputs_from_report_follow_the_ruleset_counter() -> None:
    report = _report(legacy=19.5)
    esr24 = ScoringInputs.from_report(report, load_ruleset("ntire2024_esr"))
    assert (esr24.runtime_ms, esr24.flops_g, esr24.params_m) == (10.0, 19.0, 0.3)
    assert esr24.psnr == {"valid": 27.0, "test": 27.1} and esr24.device == RTX3090
    assert ScoringInputs.from_report(report, load_ruleset("ntire2022_esr")).flops_g == 19.5
    result = score(esr24, load_ruleset("ntire2024_esr"))
    assert result.on_reference_device and result.inputs["psnr_test"] == 27.1


def test_ranked_memory_is_the_valid_reading() -> None:
    # The organizers publish and rank the valid split's reading (R26 test_demo.py:451), not
    # the mean over splits (130) nor the test reading, a running maximum (160).
    report = _report(legacy=19.5)
    for name in ("ntire2022_esr", "ntire2024_esr", "ntire2026_esr"):
        assert ScoringInputs.from_report(report, load_ruleset(name)).memory_mb == 100.0
    assert ScoringInputs.from_report(report, load_ruleset("ntire2023_rtsr")).memory_mb is None


def _smoke(report: Report) -> Report:
    split = SplitData(name="valid", count=2, lr_sha256="0" * 64, hr_sha256="0" * 64)
    info = DatasetInfo(name="smoke", smoke=True, layout="esr", splits=[split])
    return report.model_copy(update={"dataset": info})


def test_inputs_from_a_smoke_report_are_marked_smoke() -> None:
    ruleset = load_ruleset("ntire2024_esr")
    assert ScoringInputs.from_report(_smoke(_report(legacy=None)), ruleset).smoke
    assert not ScoringInputs.from_report(_report(legacy=None), ruleset).smoke


def test_smoke_data_gates_are_not_applicable() -> None:
    r = load_ruleset("ntire2024_esr")
    inputs = baseline_inputs(r, psnr={"valid": 20.0, "test": 21.0}, smoke=True)
    result = score(inputs, r)
    assert [g.state for g in result.gates] == ["not_applicable", "not_applicable"]
    assert not any(g.passed for g in result.gates)
    assert (result.verdict, result.eligible, result.reasons) == ("not_applicable", False, [])
    assert round(result.scores["final"], 4) == E2  # still shown ...
    assert any("smoke" in u for u in result.unofficial)  # ... marked unofficial
    assert scoring_findings(result, device=RTX3090) == []  # no ESR701
    # The same PSNR on real data fails, with ESR701.
    real = score(baseline_inputs(r, psnr={"valid": 20.0, "test": 21.0}), r)
    assert real.verdict == "not_eligible" and [g.state for g in real.gates] == ["failed"] * 2
    assert [f.code for f in scoring_findings(real, device=RTX3090)] == ["ESR701", "ESR701"]


def test_smoke_report_verdict_through_judge() -> None:
    from esr_validator.figures import Measurements
    from esr_validator.reporters.text import scoring_line
    from esr_validator.schemas.manifest import Manifest
    from esr_validator.verdict import judge

    report = _report(legacy=None)
    low = [sp.model_copy(update={"psnr": 20.0}) for sp in report.splits]
    measured = Measurements(
        environment=report.environment,
        images=[],
        splits=low,
        official=report.official,  # type: ignore[arg-type]
        stable=report.official,  # type: ignore[arg-type]
        synthetic=None,
        complexity=report.complexity,
    )
    manifest = Manifest.model_validate(
        {"team_id": 1, "team_name": "t", "model_name": "M", "class_name": "M", "data_range": 1.0}
    )
    ruleset = load_ruleset("ntire2024_esr")
    smoke = judge(measured, ruleset, manifest=manifest, smoke=True)
    assert smoke.scoring.verdict == "not_applicable" and smoke.failure is None
    assert "ESR701" not in [f.code for f in smoke.findings]
    line = scoring_line(report.model_copy(update={"scoring": smoke.scoring}))
    assert "not applicable (smoke data)" in line and "unofficial" in line
    assert "not eligible" not in line
    real = judge(measured, ruleset, manifest=manifest, smoke=False)
    assert real.scoring.verdict == "not_eligible" and real.failure is not None
    assert "ESR701" in [f.code for f in real.findings]


def test_smoke_entries_rank_with_an_unofficial_note() -> None:
    r = load_ruleset("ntire2024_esr")
    field = {"a": baseline_inputs(r, psnr={"valid": 20.0, "test": 20.0}, smoke=True)}
    row = rank_field(field, r)["main"][0]
    assert row.rank == 1 and row.note is not None and "smoke" in row.note


@pytest.mark.parametrize(
    ("name", "runtime", "flops", "params"),
    [  # the READMEs' own worked examples: R24 README.md:164, R25 :166, R26 :214
        ("ntire2024_esr", 13.54, 19.67, 0.317),
        ("ntire2025_esr", 16.69, 16.70, 0.276),
        ("ntire2026_esr", 7.74, 9.83, 0.151),
    ],
)
def test_published_baselines_rederive_e_squared(
    name: str, runtime: float, flops: float, params: float
) -> None:
    inputs = ScoringInputs(
        runtime_ms=runtime, flops_g=flops, params_m=params, psnr={"valid": 27.0, "test": 27.1}
    )
    result = score(inputs, load_ruleset(name))
    assert {k: round(v, 4) for k, v in result.scores.items()} == dict.fromkeys(
        ("runtime", "flops", "params", "final"), 7.3891
    )


# Published 2026 per-team measurements (R26 results.json @4592ce6, one run each): valid and
# test PSNR, valid and test runtime (ms), FLOPs (G), params (M).
RESULTS_2026 = {
    "00_SPAN": (
        26.94038757172958,
        27.012206466782786,
        8.00402544260025,
        7.468770685791969,
        9.833807872,
        0.150688,
    ),
    "01_PDS": (
        26.896448047711953,
        26.993599827477215,
        6.958887830972672,
        6.4418129479885105,
        9.2536832,
        0.141748,
    ),
    "15_DSCF_Fused": (
        26.921331215701212,
        26.985641017528813,
        8.401119863986969,
        7.36052017390728,
        8.219787264,
        0.125992,
    ),
    "16_PKDSR_FINAL_CKPT": (
        26.908662274411835,
        26.998381471908147,
        7.038300794363022,
        6.558669911623001,
        9.396289536,
        0.143928,
    ),
    "18_DISP": (
        26.90170906649294,
        27.015727144768817,
        6.730187654495239,
        6.2941526246070865,
        10.693378048,
        0.163792,
    ),
    "22_SPANV2_ESR_C2": (
        26.91872762709868,
        27.003516458290086,
        5.687406876087189,
        4.795523520112038,
        1.591738368,
        0.139104,
    ),
}


def _field_2026() -> dict[str, ScoringInputs]:
    return {
        k: ScoringInputs(
            runtime_ms=(vt + tt) / 2, flops_g=fl, params_m=pa, psnr={"valid": v, "test": t}
        )
        for k, (v, t, vt, tt, fl, pa) in RESULTS_2026.items()
    }


def test_2026_field_ranks_with_the_final_baseline_runtime() -> None:
    r = load_ruleset("ntire2026_esr")
    boards = rank_field(_field_2026(), r)
    main = [(row.entry[:2], row.rank) for row in boards["main"]]
    # 16 is 2nd and 18 3rd with 7.74 ms; the stale 5.59 ms swapped them.
    assert main[:4] == [("22", 1), ("16", 2), ("18", 3), ("00", 4)]
    stale = r.model_copy(update={"baseline": r.baseline.model_copy(update={"runtime_ms": 5.59})})
    old = [row.entry[:2] for row in rank_field(_field_2026(), stale)["main"]]
    assert old[:3] == ["22", "18", "16"]
    # Raw PSNR decides: 01 (valid 26.8964) and 15 (test 26.9856) are out, with a note.
    assert {row.entry[:2] for row in boards["main"] if row.rank is None} == {"01", "15"}
    pds = score(_field_2026()["01_PDS"], r)
    assert pds.verdict == "not_eligible" and pds.gates[0].printed_psnr == 26.90
    assert pds.gates[0].printed_passed and not pds.gates[0].passed
    assert pds.notes == [
        "valid PSNR 26.8964 dB prints as 26.90, which would pass the 26.90 dB gate; "
        "the raw value fails it and decides here"
    ]
    assert score(_field_2026()["00_SPAN"], r).notes == []


def test_sub_tracks_rank_by_their_sub_score() -> None:
    r = load_ruleset("ntire2026_esr")
    field = _field_2026()
    boards = rank_field(field, r)
    for track, metric in (("runtime", "runtime"), ("flops", "flops"), ("params", "params")):
        ranked = [row for row in boards[track] if row.rank is not None]
        for row in ranked:
            assert row.value == score(field[row.entry], r).scores[metric]
        assert [row.value for row in ranked] == sorted(row.value for row in ranked)  # type: ignore[type-var]
    assert boards["flops"][0].entry == "22_SPANV2_ESR_C2"
    # No README constraint is enforced: 18 has more params than SPAN and still ranks.
    assert any(row.entry == "18_DISP" and row.rank for row in boards["runtime"])


def test_2022_sub_track_1_ranks_entries_slower_than_imdn() -> None:
    # R22 figs/results.png: XPixel, 140.47 ms, shares rank 1 of sub-track 1.
    field = {
        "fast": _entry(30, 0.50, 30, 100, 200),
        "xpixel": _entry(140.47, 0.20, 15, 100, 200),
    }
    boards = rank_field(field, load_ruleset("ntire2022_esr"))
    assert [(row.entry, row.rank) for row in boards["complexity"]] == [("xpixel", 1), ("fast", 2)]


def test_calibrate_times_the_baseline_on_cpu() -> None:
    r = load_ruleset("ntire2024_esr")
    images = [np.full((32, 36, 3), 128, dtype=np.uint8) for _ in range(2)]
    cal = calibrate(r, device="cpu", runs=1, images=images)
    assert (cal.baseline, cal.published_runtime_ms) == ("rlfn", 13.54) and cal.runtime_ms > 0
    # Scoring with it on the same device works and leaves PSNR-only facts alone.
    result = score(baseline_inputs(r, device=cal.device), r, calibration=cal)
    assert result.calibrated_scores is not None and result.eligible


def test_calibrate_synthetic_protocol_with_smoke_timing() -> None:
    r = load_ruleset("ntire2023_rtsr")
    smoke = r.timing.model_copy(
        update={"output_size": (24, 24), "warmup": 1, "timed_passes": 2, "precision": "fp32"}
    )
    cal = calibrate(r, device="cpu", scale=3, timing=smoke)
    assert (cal.baseline, cal.published_runtime_ms) == ("rtsrn", 13.28) and cal.runtime_ms > 0


def test_calibrate_dataset_protocol_needs_images() -> None:
    with pytest.raises(UsageError, match="LR images"):
        calibrate(load_ruleset("ntire2024_esr"), device="cpu")
