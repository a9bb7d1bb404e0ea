"""Write a Codabench competition bundle for one ruleset (``esr-validator codabench bundle``).

    DIR/competition.yaml            version 2: pages, one task, one phase, the leaderboard
    DIR/logo.png, DIR/pages/*.md
    DIR/ingestion_program/metadata.yaml   the untrusted side (esr_validator.codabench.ingestion)
    DIR/scoring_program/metadata.yaml     the trusted side (esr_validator.codabench.scoring)
    DIR/input_data/<split>/<stem>.png     LR only: what the submission's code sees
    DIR/reference_data/                   the dataset, HR included: the scoring step only

Both programs run ``python -m esr_validator.codabench.*`` inside ``docker_image``, the
evaluation image, which carries the package; the program folders hold only their
``metadata.yaml``. Zip DIR's content (not DIR itself) and upload it to Codabench.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from esr_validator.codabench.layout import ingestion_command, scoring_command
from esr_validator.codabench.results import columns
from esr_validator.data import Dataset, discover, smoke_dir, stage_lr
from esr_validator.errors import UsageError
from esr_validator.schemas.ruleset import Ruleset


def _q(text: str) -> str:
    """A YAML scalar: JSON strings are valid YAML double-quoted strings."""
    return json.dumps(text)


def competition_yaml(ruleset: Ruleset, *, image: str) -> str:
    lines = [
        "version: 2",
        f"title: {_q(ruleset.title + ' (esr-validator)')}",
        f"description: {_q('Code submissions, esr-validator ruleset ' + ruleset.name)}",
        "image: logo.png",
        "terms: pages/terms.md",
        f"docker_image: {_q(image)}",
        "make_programs_available: true",
        "make_input_data_available: false",
        "pages:",
        "  - title: Overview",
        "    file: pages/overview.md",
        "  - title: Evaluation",
        "    file: pages/evaluation.md",
        "tasks:",
        "  - index: 0",
        f"    name: {_q(ruleset.name)}",
        f"    description: {_q('Super-resolution x' + str(ruleset.scales[0]))}",
        "    input_data: input_data/",
        "    reference_data: reference_data/",
        "    ingestion_program: ingestion_program/",
        "    scoring_program: scoring_program/",
        "phases:",
        "  - index: 0",
        "    name: Validation",
        "    start: 2026-01-01",
        "    tasks:",
        "      - 0",
        "leaderboards:",
        "  - title: Results",
        "    key: main",
        "    columns:",
    ]
    for i, c in enumerate(columns(ruleset)):
        lines += [
            f"      - title: {_q(c.title)}",
            f"        key: {c.key}",
            f"        index: {i}",
            f"        sorting: {c.sorting}",
        ]
    return "\n".join(lines) + "\n"


def _metadata(command: str, description: str) -> str:
    return f"command: {_q(command)}\ndescription: {_q(description)}\n"


def _pages(ruleset: Ruleset) -> dict[str, str]:
    cols = "\n".join(f"- `{c.key}`: {c.title} ({c.sorting})" for c in columns(ruleset))
    return {
        "overview.md": f"# {ruleset.title}\n\nSubmit the zip `esr-validator pack` writes.\n",
        "evaluation.md": f"# Evaluation\n\nRuleset `{ruleset.name}` {ruleset.version}.\n\n"
        f"Leaderboard columns:\n\n{cols}\n",
        "terms.md": "# Terms\n\nThe organizers' terms of participation go here.\n",
    }


def _copy_reference(dataset: Dataset, dest: Path) -> None:
    """The splits' LR and HR folders, under their own names, so ``discover`` finds them."""
    for split in dataset.splits:
        for folder in (split.lr_dir, split.hr_dir):
            shutil.copytree(folder, dest / folder.relative_to(dataset.root))


def write_bundle(ruleset: Ruleset, out: Path, *, image: str, data_dir: Path | None = None) -> Path:
    if len(ruleset.scales) != 1:
        raise UsageError(
            f"ruleset {ruleset.name} has scales {ruleset.scales}: the bundle has one task, "
            "one scale (a multi-scale bundle is not built yet)"
        )
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty")
    scale = ruleset.scales[0]
    dataset = discover(data_dir or smoke_dir(scale), scale=scale)
    out.mkdir(parents=True, exist_ok=True)
    (out / "competition.yaml").write_text(competition_yaml(ruleset, image=image))
    logo = np.full((64, 64, 3), (40, 90, 160), dtype=np.uint8)
    (out / "logo.png").write_bytes(cv2.imencode(".png", logo)[1].tobytes())
    (out / "pages").mkdir()
    for name, text in _pages(ruleset).items():
        (out / "pages" / name).write_text(text)
    for folder, command, what in (
        ("ingestion_program", ingestion_command(ruleset.name), "untrusted: runs the model"),
        ("scoring_program", scoring_command(ruleset.name), "trusted: scores against HR"),
    ):
        (out / folder).mkdir()
        (out / folder / "metadata.yaml").write_text(_metadata(command, what))
    stage_lr(dataset, out / "input_data", link=False)
    _copy_reference(dataset, out / "reference_data")
    return out
