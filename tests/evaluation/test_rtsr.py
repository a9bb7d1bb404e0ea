"""NTIRE 2023 Real-Time SR: the HR/LR layout, the synthetic timing protocol, border-0 and
swapped-weight Y PSNR, and ``validate --ruleset ntire2023_rtsr`` end to end."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from esr_validator.calibration import device_name
from esr_validator.cli import main
from esr_validator.data import (
    SMOKE_DIR,
    DataError,
    discover,
    discover_scales,
    load_datasets,
    stage_lr,
)
from esr_validator.metrics.convert import mod_crop, read_image
from esr_validator.metrics.psnr import psnr, psnr_y_float32
from esr_validator.ruleset import load_ruleset
from esr_validator.sandbox.convert import from_tensor, to_tensor
from esr_validator.sandbox.synthetic import measure
from esr_validator.schemas.report import Report
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration
from esr_validator.schemas.worker import SyntheticSpec
from esr_validator.scoring import ScoringInputs, published_runtime_ms, score
from tests import subs
from tests.factories import make_settings

RTSR_SMOKE = SMOKE_DIR / "rtsr"

# Torch's bicubic plus a zero-initialised conv + PixelShuffle branch: a real x`scale`
# network whose output is exactly bicubic, so its PSNR can be computed independently.
MODEL = """\
import torch.nn as nn
import torch.nn.functional as F


class TinySR(nn.Module):
    def __init__(self, scale=2):
        super().__init__()
        self.scale = scale
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, 1, 1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x):
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return base + self.shuffle(self.conv(x))
"""


def _zip(tmp_path: Path, scale: int) -> Path:
    state = {
        "conv.weight": torch.zeros(3 * scale * scale, 3, 3, 3),
        "conv.bias": torch.zeros(3 * scale * scale),
    }
    members = subs.good_members(scale=scale, kwargs={"scale": scale})
    members["models/team16_TinySR.py"] = MODEL.encode()
    members["model_zoo/team16_TinySR.pth"] = subs.checkpoint_bytes(state)
    return subs.write_zip(tmp_path / f"x{scale}.zip", members)


def _expected_psnr(data: Path, scale: int) -> tuple[float, float]:
    """Mean RGB and swapped-weight Y PSNR of torch bicubic, border 0, computed here."""
    rgb, y = [], []
    for pair in discover(data, scale=scale).splits[0].pairs:
        x = to_tensor(read_image(pair.lr), 1.0)
        up = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
        sr, hr = from_tensor(up, 1.0), mod_crop(read_image(pair.hr), scale)
        rgb.append(psnr(sr, hr, border=0))
        y.append(psnr_y_float32(sr, hr, border=0, swap_rb=True))
    return statistics.fmean(rgb), statistics.fmean(y)


def _validate(capsys: pytest.CaptureFixture[str], zip_path: Path, *extra: str) -> Report:
    argv = ["validate", str(zip_path), "--runner", "local", "--device", "cpu", *extra]
    main([*argv, "--format", "json", "--no-progress"])
    return Report.model_validate(json.loads(capsys.readouterr().out))


# -- layout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 3])
def test_rtsr_layout_is_one_valid_split_of_jpeg_lr(scale: int) -> None:
    for root in (RTSR_SMOKE, RTSR_SMOKE / f"x{scale}"):  # x<scale>/ is found from its parent
        ds = discover(root, scale=scale)
        assert ds.root == RTSR_SMOKE / f"x{scale}"
        assert [(s.name, s.prefix) for s in ds.splits] == [("valid", "rtsr")]
        split = ds.splits[0]
        assert split.stems == ("0000001", "0000002", "0801")
        assert {p.lr.suffix for p in split.pairs} == {".jpg"}
        assert all(p.hr.parent.name == "HR" for p in split.pairs)


def test_esr_layout_is_untouched_by_rtsr() -> None:
    assert [s.name for s in discover(SMOKE_DIR).splits] == ["valid", "test"]
    with pytest.raises(DataError, match="no HR/ or LR/ folder"):
        discover(SMOKE_DIR, scale=2)


def test_rtsr_layout_problems(tmp_path: Path) -> None:
    shutil.copytree(RTSR_SMOKE / "x2", tmp_path / "d")
    (tmp_path / "d" / "LR" / "0801.png").write_bytes(b"\x89PNG")
    with pytest.raises(DataError, match=r"0801 as both \.png and \.jpg"):
        discover(tmp_path / "d", scale=2)
    (tmp_path / "d" / "LR" / "0801.jpg").unlink()
    assert discover(tmp_path / "d", scale=2).split("valid").pairs[2].lr.name == "0801.png"
    (tmp_path / "d" / "LR" / "0801.png").unlink()
    with pytest.raises(DataError, match="HR images without LR: 0801"):
        discover(tmp_path / "d", scale=2)
    shutil.rmtree(tmp_path / "d" / "LR")
    with pytest.raises(DataError, match="no LR/ folder"):
        discover(tmp_path / "d", scale=2)


def test_scales_of_a_data_dir(tmp_path: Path) -> None:
    assert set(discover_scales(RTSR_SMOKE, scales=[2, 3])) == {2, 3}
    shutil.copytree(RTSR_SMOKE / "x3", tmp_path / "plain")
    # A plain HR/ + LR/ folder serves the one scale its images show, never both.
    assert set(discover_scales(tmp_path / "plain", scales=[2, 3])) == {3}
    datasets = load_datasets(None, scales=[2, 3])
    assert all(d.smoke for d in datasets.values()) and {s: d.root for s, d in datasets.items()} == {
        2: RTSR_SMOKE / "x2",
        3: RTSR_SMOKE / "x3",
    }


def test_jpeg_lr_is_staged_as_it_is(tmp_path: Path) -> None:
    ds = discover(RTSR_SMOKE, scale=3)
    staged = stage_lr(ds, tmp_path / "lr", link=False)
    names = sorted(p.name for p in (staged / "valid").iterdir())
    assert names == ["0000001.jpg", "0000002.jpg", "0801.jpg"]
    assert (staged / "valid" / "0801.jpg").read_bytes() == ds.splits[0].pairs[2].lr.read_bytes()


# -- options, worker protocol, scoring ------------------------------------------------------
def test_options_follow_the_ruleset() -> None:
    rtsr = make_settings(ruleset="ntire2023_rtsr")
    assert rtsr.synthetic is not None
    assert (rtsr.synthetic.warmup, rtsr.synthetic.passes, rtsr.synthetic.precision) == (
        50,
        244,
        "fp16",
    )
    assert rtsr.synthetic.cudnn_benchmark and rtsr.synthetic.output_size == (3840, 2160)
    assert (rtsr.border, rtsr.psnr_y) == (0, "bt601_swapped_rb")
    spec = rtsr.synthetic.spec(3)
    assert (spec.height, spec.width) == (1280, 720)  # as runtime_demo.py:81 times it
    short = make_settings(ruleset="ntire2023_rtsr", synthetic_passes=3, synthetic_warmup=0)
    assert short.synthetic and (short.synthetic.warmup, short.synthetic.passes) == (0, 3)
    esr = make_settings(ruleset="ntire2024_esr")
    assert esr.synthetic is None and (esr.border, esr.psnr_y) == (4, "off")


def test_synthetic_protocol_runs_fp32_on_the_cpu() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 12, 3, 1, 1), torch.nn.PixelShuffle(2))
    spec = SyntheticSpec(
        height=12, width=16, warmup=2, passes=5, precision="fp16", cudnn_benchmark=True
    )
    ticks: list[int] = []
    timing = measure(model, model, spec, device=torch.device("cpu"), tick=lambda: ticks.append(1))
    assert (timing.precision, timing.requested_precision) == ("fp32", "fp16")
    assert timing.note and "fp32 on the CPU" in timing.note
    assert len(timing.passes_ms) == 5 and all(ms > 0 for ms in timing.passes_ms)
    assert len(ticks) == 7 and timing.memory_mb is None
    assert torch.backends.cudnn.benchmark is False  # restored after the stage


def test_rtsr_score_from_the_valid_split_is_not_eligible() -> None:
    r = load_ruleset("ntire2023_rtsr")
    inputs = ScoringInputs(
        runtime_ms=27.86, flops_g=None, params_m=None, psnr={"valid": 32.0}, scale=2
    )
    result = score(inputs, r)
    assert round(result.scores["final"], 4) == 4.6726  # the formula, applied
    assert not result.eligible
    assert result.reasons == ["PSNR is the valid split's, not the ranked test's"]


# -- end to end -----------------------------------------------------------------------------
def _fake_calibration(ruleset: Ruleset, dataset: object, **kw: Any) -> Calibration:
    # RTSRN takes seconds per 720p pass on a CPU: only the routing by scale is tested here.
    return Calibration(
        baseline="rtsrn",
        device=device_name("cpu"),
        runtime_ms=100.0,
        published_runtime_ms=published_runtime_ms(ruleset, scale=kw["scale"]) or 0.0,
    )


@pytest.mark.slow
@pytest.mark.parametrize("scale", [2, 3])
def test_rtsr_submission_is_evaluated_and_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, scale: int
) -> None:
    extra = ["--ruleset", "ntire2023_rtsr", "--synthetic-passes", "2", "--synthetic-warmup", "1"]
    data = RTSR_SMOKE / f"x{scale}"
    if scale == 3:  # x3 through --data-dir (a plain HR/ + LR/ copy), and calibrated
        data = Path(shutil.copytree(data, tmp_path / "data"))
        extra += ["--data-dir", str(data), "--calibrate"]
        monkeypatch.setattr("esr_validator.calibration.calibrate_on", _fake_calibration)
    report = _validate(capsys, _zip(tmp_path, scale), *extra)

    assert report.status == "evaluated", report.findings
    assert report.dataset and report.dataset.layout == "rtsr"
    assert report.dataset.smoke is (scale == 2)
    assert report.options and report.options.timing == "synthetic"
    assert (report.options.psnr_border, report.options.psnr_y) == (0, "bt601_swapped_rb")
    # PSNR: RGB and the script's swapped-weight Y, both without a border.
    [split] = report.splits
    rgb, y = _expected_psnr(data, scale)
    assert split.split == "valid" and split.psnr is not None and split.psnr_y is not None
    assert split.psnr == pytest.approx(rgb, abs=1e-9) and split.psnr_y == pytest.approx(y, abs=1e-9)
    # Runtime: the synthetic protocol, as shortened, in fp32 on the CPU; no per-image times.
    s = report.synthetic
    assert s is not None
    assert (s.input_height, s.input_width) == (3840 // scale, 2160 // scale)
    assert (s.warmup, s.passes, s.precision, s.requested_precision) == (1, 2, "fp32", "fp16")
    assert report.official and report.official.runtime_ms == s.mean_ms
    assert report.stable and report.stable.runtime_ms == s.median_ms
    assert all(im.official_ms == [] and im.stable_ms == [] for im in report.images)
    # Complexity is counted on that same full-size input (rows x columns), and said so.
    c = report.complexity
    assert c is not None and (c.input_height, c.input_width) == (s.input_height, s.input_width)
    assert report.options.complexity_input == "ruleset"
    conv_macs = 3 * (3 * scale * scale) * 9 * s.input_height * s.input_width
    assert c.flops == conv_macs  # the one conv; bicubic and pixel shuffle count nothing
    codes = {f.code: f for f in report.findings}
    assert "fp32, not fp16" in codes["ESR704"].message
    assert "timed passes 2, not 244" in codes["ESR704"].message
    # Scoring: the formula ran on that runtime; smoke PSNR is far below 31.697655 dB.
    sc = report.scoring
    assert sc is not None and sc.ruleset == "ntire2023_rtsr"
    assert sc.inputs["runtime_ms"] == s.mean_ms and sc.inputs["psnr_valid"] == split.psnr
    assert sc.scores == {"psnr_gain_db": 0.0, "final": 0.0}
    assert not sc.eligible
    if scale == 2:  # smoke data: bicubic's PSNR is their test set's, so it does not apply
        assert sc.verdict == "not_applicable" and sc.reasons == []
    else:
        assert any("score nullified" in r for r in sc.reasons)
    if scale == 3:  # the calibration of the entry's own scale was used
        assert sc.calibration and sc.calibration.published_runtime_ms == 13.28
        assert sc.calibrated_scores == {"psnr_gain_db": 0.0, "final": 0.0}


@pytest.mark.slow
def test_rtsr_submission_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x2 = _zip(tmp_path, 2)
    default = _validate(capsys, x2)  # the default ruleset is x4
    assert default.status == "invalid"
    assert "ESR206" in {f.code for f in default.findings}
    # An RTSR data folder with x3 images only cannot evaluate a x2 entry.
    shutil.copytree(RTSR_SMOKE / "x3", tmp_path / "data")
    report = _validate(
        capsys, x2, "--ruleset", "ntire2023_rtsr", "--data-dir", str(tmp_path / "data")
    )
    assert report.status == "invalid"
    [f] = [f for f in report.findings if f.code == "ESR206"]
    assert "data for x3 only" in f.message
