"""The complexity input and the runs come from the ruleset unless the command line overrides
them; the worker counts on the (H, W) it is given and the report says which one it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from esr_validator.errors import UsageError
from esr_validator.ruleset import load_ruleset
from esr_validator.sandbox import complexity as cx
from tests import subs
from tests.factories import QUICK, evaluate, make_settings


def test_the_ruleset_gives_the_input_and_the_runs() -> None:
    esr = make_settings()
    assert esr.complexity_input.hw(4) == (256, 256) and esr.runs == esr.ruleset.timing.runs
    rtsr = make_settings(ruleset="ntire2023_rtsr")
    assert [rtsr.complexity_input.hw(s) for s in (2, 3)] == [(1920, 1080), (1280, 720)]
    for name in ("ntire2022_esr", "ntire2023_rtsr", "ntire2024_esr", "ntire2025_esr"):
        settings = make_settings(ruleset=name)
        for scale in settings.ruleset.scales:
            expected = load_ruleset(name).complexity_input_hw(scale)
            assert settings.eval_options().complexity_input.hw(scale) == expected
    assert esr.run_options().complexity_input == "ruleset"


def test_the_command_line_overrides_the_ruleset() -> None:
    given = make_settings(ruleset="ntire2023_rtsr", complexity_input="64x48", runs=2)
    assert given.complexity_input.hw(2) == (64, 48) == given.complexity_input.hw(3)
    assert given.runs == 2 and given.run_options().runs == 2
    assert given.run_options().complexity_input == "command line"
    for bad in ("256", "0x256", "256x5000", "axb", "256x256x3"):
        with pytest.raises(UsageError, match="--complexity-input"):
            make_settings(complexity_input=bad)


def _tiny() -> torch.nn.Module:
    ns: dict[str, Any] = {}
    exec(compile(subs.TINY_MODEL, "tiny", "exec"), ns)  # our own test model, not an entry
    model: torch.nn.Module = ns["TinySR"](num_feat=8)
    model.load_state_dict(subs.tiny_state_dict())
    return model.eval()


@pytest.mark.slow
def test_the_worker_counts_on_the_input_given(good_zip: Path) -> None:
    default = evaluate(good_zip)
    options = make_settings(**QUICK, complexity_input="64x48").eval_options()
    given = evaluate(good_zip, options=options)
    for report, hw in ((default, (256, 256)), (given, (64, 48))):
        c = report.complexity
        assert c is not None and (c.input_height, c.input_width) == hw
        assert "measuring-code-tampered" not in {f.name for f in report.findings}
        # The same count, made here on the same model and input size.
        assert c.flops == cx.fvcore_flops(_tiny(), size=hw).flops
    assert default.complexity and default.complexity.input_size == 256
    assert given.complexity and given.complexity.input_size is None  # not square
