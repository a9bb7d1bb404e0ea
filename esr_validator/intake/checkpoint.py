"""Checkpoint intake: the pickle's globals first, then a weights-only load, then the shape.

Order matters: ``pickle_scan`` proves the file imports nothing beyond tensor rebuilding
(ESR301) before ``torch.load(weights_only=True, map_location="cpu")`` ever sees it, so neither
a torch bug in the weights-only unpickler nor a CUDA location tag (``cuda:0``, 14 of 33 teams in
2024) matters. ``.safetensors`` files are parsed by ``safetensors_file``. Then the state dict:
under the declared key (ESR303), a mapping of names to tensors (ESR304), or, with no key, a
suggestion when the weights sit under ``params``/``params_ema``/... (ESR305; an error when
``strict = false``, because a strict-free load of the outer dict silently loads nothing).

With ``loader_method`` set, the model reads the file itself, so only safety applies: unsafe
globals stay an error, while a format this module cannot read is only a warning and the key
and structure rules are skipped.

``load_state_dict_safely`` is the one place where the project loads weights.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from esr_validator.codes import finding, is_code
from esr_validator.errors import EnvironmentProblem
from esr_validator.intake import safetensors_file
from esr_validator.intake.pickle_scan import PickleProblem, scan_file
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.manifest import CheckpointSpec

if TYPE_CHECKING:
    from torch import Tensor

NEST_KEYS = ("params_ema", "params", "state_dict", "model")  # BasicSR prefers the EMA weights
_SHOWN = 10
_TORCHSCRIPT_GLOBALS = ("__torch__.", "torch.jit._pickle.")  # what a real jit archive imports


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # torch's name without the prefix: "float32"
    shape: tuple[int, ...]


@dataclass(frozen=True)
class CheckpointReport:
    """Findings, and what later stages need to know about the weights (never the weights,
    unless ``keep_tensors`` asked for them)."""

    findings: list[Finding]
    format: str | None = None  # "torch-zip", "torch-legacy", "safetensors"
    key: str | None = None
    suggested_key: str | None = None
    tensors: tuple[TensorInfo, ...] = ()
    state_dict: dict[str, Tensor] | None = field(default=None, repr=False)

    @property
    def keys(self) -> list[str]:
        return [t.name for t in self.tensors]

    @property
    def count(self) -> int:
        return len(self.tensors)

    @property
    def dtypes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.tensors:
            counts[t.dtype] = counts.get(t.dtype, 0) + 1
        return counts


class CheckpointError(Exception):
    """The weights cannot be loaded safely; ``finding`` says why, as a report would."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def check_checkpoint(
    path: Path, *, spec: CheckpointSpec, display_path: str, keep_tensors: bool = False
) -> CheckpointReport:
    """Every checkpoint finding for ``path``; ``display_path`` is what findings show."""
    try:
        kind, obj = _read(path, display_path=display_path)
    except CheckpointError as exc:
        found = exc.finding
        if spec.loader_method and is_code(found, "checkpoint-unreadable"):
            found = replace_finding(
                found,
                severity=Severity.WARNING,
                suffix=(
                    f" The model's {spec.loader_method}() reads the file itself, so this is only "
                    "a warning; the validator cannot inspect the weights."
                ),
            )
        return CheckpointReport(findings=[found])
    if spec.loader_method:
        weights = obj if _problem(obj) is None else None
        return _report([], kind, weights, keep=keep_tensors)
    findings, weights, suggested = _judge(obj, kind=kind, spec=spec, path=display_path)
    report = _report(findings, kind, weights, keep=keep_tensors)
    return replace(report, key=spec.key, suggested_key=suggested)


def load_state_dict_safely(
    path: Path, *, key: str | None = None, spec: CheckpointSpec | None = None
) -> dict[str, Tensor]:
    """The state dict of ``path`` (under ``key``, or ``spec``'s key chain), on the CPU,
    loaded weights-only.

    Raises CheckpointError (carrying ESR301-ESR304) instead of ever unpickling an object.
    """
    kind, obj = _read(path, display_path=str(path))
    findings, weights, suggested = _judge(
        obj, kind=kind, spec=spec or CheckpointSpec(key=key), path=str(path)
    )
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise CheckpointError(errors[0])
    if weights is None or suggested is not None:  # never silently use a nested dict
        raise CheckpointError(
            finding(
                "checkpoint-not-state-dict",
                findings[0].message,
                path=str(path),
                hint=findings[0].hint,
            )
        )
    return weights


def replace_finding(found: Finding, *, severity: Severity, suffix: str) -> Finding:
    return found.model_copy(update={"severity": severity, "message": found.message + suffix})


def _read(path: Path, *, display_path: str) -> tuple[str, object]:
    def fail(name: str, message: str) -> CheckpointError:
        return CheckpointError(finding(name, message, path=display_path))

    try:
        if path.suffix.lower() == ".safetensors" or _looks_safetensors(path):
            return "safetensors", safetensors_file.load(path)
        scan = scan_file(path)
    except (PickleProblem, safetensors_file.SafetensorsProblem, OSError) as exc:
        raise fail("checkpoint-unreadable", f"cannot read the checkpoint: {exc}") from exc
    if scan.torchscript and all(g.startswith(_TORCHSCRIPT_GLOBALS) for g in scan.unsafe):
        raise fail("checkpoint-unreadable", "a TorchScript archive (torch.jit.save), not weights")
    if scan.unsafe:
        raise fail(
            "checkpoint-unsafe-globals",
            "unpickling would import "
            f"{', '.join(scan.unsafe[:_SHOWN])}: only tensors may be stored",
        )
    if scan.kind == "pickle":
        raise fail("checkpoint-unreadable", "a plain pickle (pickle.dump), not a torch.save file")
    return scan.kind, _torch_load(path, fail=fail)


def _torch_load(path: Path, *, fail: Any) -> object:
    import torch

    if torch.__version__ < "2.6":  # TorchVersion compares as a version
        raise EnvironmentProblem(
            f"torch {torch.__version__} is open to CVE-2025-32434 even with weights_only=True",
            hint="install torch>=2.6 (pyproject.toml pins the minimum)",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:  # refused by torch's own weights-only unpickler
        raise fail("checkpoint-unsafe-globals", _first_line(exc)) from exc
    except Exception as exc:  # torch raises many types for corrupt files
        raise fail("checkpoint-unreadable", f"torch.load failed: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _looks_safetensors(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(9)
    if len(head) < 9 or head[8:9] != b"{":
        return False
    return 8 + int.from_bytes(head[:8], "little") <= path.stat().st_size


def _problem(obj: object) -> str | None:
    """Why ``obj`` is not a state dict (a dict of names to tensors), or None."""
    import torch

    if not isinstance(obj, dict):
        return f"it is a {type(obj).__name__}, not a mapping of names to tensors"
    if not obj:
        return "it holds no tensors"
    bad = [
        f"{k!r} ({_describe(v)})"
        for k, v in obj.items()
        if not isinstance(k, str) or not isinstance(v, torch.Tensor)
    ]
    if bad:
        more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        return f"these entries are not tensors: {', '.join(bad[:_SHOWN])}{more}"
    return None


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return f"dict of {len(value)}"
    return type(value).__name__


def _judge(
    obj: object, *, kind: str, spec: CheckpointSpec, path: str
) -> tuple[list[Finding], dict[str, Tensor] | None, str | None]:
    """Findings, the state dict if there is one, and a suggested key."""
    if spec.keys:  # a fallback chain resolves to one key (or to the file) for this file
        spec = CheckpointSpec(key=spec.pick_key(obj), strict=spec.strict)
    if spec.key is not None:
        if kind == "safetensors":
            return (
                [
                    finding(
                        "checkpoint-key-missing",
                        f"checkpoint.key is {spec.key!r}, but a "
                        ".safetensors file is flat: remove the key",
                        path=path,
                    )
                ],
                None,
                None,
            )
        if not isinstance(obj, dict) or spec.key not in obj:
            return (
                [finding("checkpoint-key-missing", _missing(obj, spec.key), path=path)],
                None,
                None,
            )
        obj = obj[spec.key]
        if (problem := _problem(obj)) is not None:
            message = f"under checkpoint.key {spec.key!r}: {problem}"
            return [finding("checkpoint-not-state-dict", message, path=path)], None, None
        return [], obj, None  # type: ignore[return-value]
    if (problem := _problem(obj)) is None:
        return [], obj, None  # type: ignore[return-value]
    nested = [k for k in NEST_KEYS if isinstance(obj, dict) and _problem(obj.get(k)) is None]
    if not nested or not isinstance(obj, dict):
        return [finding("checkpoint-not-state-dict", problem, path=path)], None, None
    severity = Severity.ERROR if not spec.strict else None
    message = (
        f"the state dict is nested under {nested[0]!r} (top-level keys: "
        f"{_keys(obj)}), but no checkpoint.key is declared"
    )
    if not spec.strict:
        message += "; with strict = false the model would silently keep its initial weights"
    hint = f'Set key = "{nested[0]}" under [checkpoint] in submission.toml.'
    found = finding("checkpoint-key-suggested", message, path=path, hint=hint, severity=severity)
    return [found], obj[nested[0]], nested[0]


def _keys(obj: dict[Any, Any]) -> str:
    keys = [repr(k) for k in list(obj)[:_SHOWN]]
    return ", ".join(keys) + (", ..." if len(obj) > _SHOWN else "")


def _missing(obj: object, key: str) -> str:
    if not isinstance(obj, dict):
        return f"checkpoint.key {key!r} is declared, but the file holds a {type(obj).__name__}"
    if _problem(obj) is None:
        return (
            f"checkpoint.key {key!r} is declared, but the file is the state dict itself "
            f"({len(obj)} tensors): remove the key"
        )
    return f"checkpoint.key {key!r} is not in the checkpoint; its keys: {_keys(obj)}"


def _report(findings: list[Finding], kind: str, weights: object, *, keep: bool) -> CheckpointReport:
    if not isinstance(weights, dict):
        return CheckpointReport(findings=findings, format=kind)
    tensors = tuple(
        TensorInfo(name=k, dtype=str(v.dtype).removeprefix("torch."), shape=tuple(v.shape))
        for k, v in weights.items()
    )
    return CheckpointReport(
        findings=findings, format=kind, tensors=tensors, state_dict=weights if keep else None
    )
