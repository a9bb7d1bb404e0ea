"""``esr-validator pack`` builds submissions in every shape real 2024 entries have, and each
passes ``check`` (and, for the loading variants, loads in the real worker)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch

from esr_validator.cli import main
from tests import subs
from tests.factories import evaluate

# A model file with constructor arguments and a post-load re-parameterisation, like 2024/2025
# entries (RCN(40, 40), SAFMNPP(36, 6, 1.5), switch_deploy()).
REPARAM_MODEL = subs.TINY_MODEL.replace(
    "    def forward(self, x):",
    "    def switch_deploy(self):\n        self.deployed = True\n\n    def forward(self, x):",
)


def _pack(tmp_path: Path, state: object, *flags: str, model: str = subs.TINY_MODEL) -> Path:
    (tmp_path / "net.py").write_text(model)
    torch.save(state, tmp_path / "best.pth")
    out = tmp_path / "team16.zip"
    argv = [
        "pack", "--model", str(tmp_path / "net.py"), "--checkpoint", str(tmp_path / "best.pth"),
        "--team-id", "16", "--team-name", "Test Team", "--class-name", "TinySR",
        "--model-name", "TinySR", "-o", str(out), *flags,
    ]  # fmt: skip
    assert main(argv) == 0
    return out


def _check_json(zip_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    code = main(["check", str(zip_path), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == (0 if doc["ok"] else 1)
    return doc


SHAPES = {
    "class with kwargs": (lambda sd: sd, ["--data-range", "1.0", "--kwargs", '{"num_feat": 8}']),
    "params_ema nesting": (
        lambda sd: {"params_ema": sd, "params": sd},
        ["--data-range", "1.0", "--state-dict-key", "params_ema"],
    ),
    "params nesting": (
        lambda sd: {"params": sd},
        ["--data-range", "1.0", "--state-dict-key", "params"],
    ),
    "strict=False with an extra buffer": (
        lambda sd: {**sd, "unused.running_mean": torch.zeros(3)},
        ["--data-range", "1.0", "--no-strict"],
    ),
    "data_range 255": (lambda sd: sd, ["--data-range", "255.0"]),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_real_2024_shapes_pass_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: str
) -> None:
    wrap, flags = SHAPES[shape]
    doc = _check_json(_pack(tmp_path, wrap(subs.tiny_state_dict()), *flags), capsys)
    assert doc["ok"], doc["findings"]
    assert doc["findings"] == []


def test_tensors_saved_on_cuda_pass_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate a checkpoint written on a GPU: torch records the storage location 'cuda:0'.
    monkeypatch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
    zip_path = _pack(tmp_path, {"params": subs.tiny_state_dict()}, "--data-range", "1.0",
                     "--state-dict-key", "params")  # fmt: skip
    monkeypatch.undo()
    with (
        zipfile.ZipFile(zip_path) as zf,
        zipfile.ZipFile(zf.open("model_zoo/team16_TinySR.pth")) as ck,
    ):
        pickled = ck.read(next(n for n in ck.namelist() if n.endswith("data.pkl")))
    assert b"cuda:0" in pickled
    doc = _check_json(zip_path, capsys)
    assert doc["ok"], doc["findings"]


def test_pack_writes_a_manifest_with_every_option(tmp_path: Path) -> None:
    zip_path = _pack(
        tmp_path, subs.tiny_state_dict(), "--data-range", "1.0", "--args", "[8]",
        "--post-load", "switch_deploy", "--pad-multiple", "16", "--tile", "64",
        "--tile-overlap", "8", "--precision", "fp16", model=REPARAM_MODEL,
    )  # fmt: skip
    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(zf.namelist())
        manifest = zf.read("submission.toml").decode()
    assert names == ["model_zoo/team16_TinySR.pth", "models/team16_TinySR.py", "submission.toml"]
    for line in ("post_load = \"switch_deploy\"", "pad_multiple = 16", "tile = 64",
                 "tile_overlap = 8", "precision = \"fp16\"", "args = ["):  # fmt: skip
        assert line in manifest


def test_pack_is_reproducible(tmp_path: Path) -> None:
    first = _pack(tmp_path, subs.tiny_state_dict(), "--data-range", "1.0").read_bytes()
    second = _pack(tmp_path, subs.tiny_state_dict(), "--data-range", "1.0").read_bytes()
    assert first == second


def test_pack_refuses_a_bad_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net.py").write_text(subs.TINY_MODEL)
    torch.save(subs.tiny_state_dict(), tmp_path / "w.pth")
    code = main([
        "pack", "--model", str(tmp_path / "net.py"), "--checkpoint", str(tmp_path / "w.pth"),
        "--team-id", "123", "--team-name", "T", "--class-name", "TinySR", "--data-range", "1.0",
        "-o", str(tmp_path / "x.zip"),
    ])  # fmt: skip
    assert code == 2
    assert "team_id" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["params_ema nesting", "strict=False with an extra buffer"])
def test_loading_variants_evaluate(tmp_path: Path, shape: str) -> None:
    wrap, flags = SHAPES[shape]
    report = evaluate(_pack(tmp_path, wrap(subs.tiny_state_dict()), *flags))
    assert report.status == "evaluated", report.findings


@pytest.mark.slow
def test_post_load_args_padding_and_tiling_evaluate(tmp_path: Path) -> None:
    zip_path = _pack(
        tmp_path, subs.tiny_state_dict(), "--data-range", "1.0", "--args", "[8]",
        "--post-load", "switch_deploy", "--post-load-scope", "submodules",
        "--pad-multiple", "16", "--tile", "32", "--tile-overlap", "8", model=REPARAM_MODEL,
    )  # fmt: skip
    report = evaluate(zip_path)
    assert report.status == "evaluated", report.findings
    assert all(im.psnr is not None for im in report.images)
