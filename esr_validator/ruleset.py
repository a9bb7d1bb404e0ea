"""Challenge rulesets: load one by name (or from a TOML file) and list the packaged ones.

The rules are data: ``esr_validator/rulesets/<name>.toml``, validated by
:class:`esr_validator.schemas.ruleset.Ruleset`. Any problem with a file becomes a
:class:`RulesetError`
whose message names the file and the field, because a silently half-read ruleset would
rank entries by the wrong constants.
"""

from __future__ import annotations

import difflib
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from esr_validator.baselines import BASELINES
from esr_validator.errors import RulesetError
from esr_validator.schemas.ruleset import Ruleset

DEFAULT_RULESET = "ntire2024_esr"
_PACKAGE_DIR = "rulesets"


def _packaged() -> dict[str, str]:
    folder = resources.files("esr_validator").joinpath(_PACKAGE_DIR)
    return {
        entry.name.removesuffix(".toml"): entry.read_text("utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def list_rulesets() -> list[str]:
    """Names of the packaged rulesets, oldest challenge first."""
    return sorted(_packaged(), key=lambda n: (load_ruleset(n).year, n))


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_ruleset(text: str, *, origin: str, expected_name: str | None = None) -> Ruleset:
    """Validate one ruleset document; ``origin`` names it in every error message."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesetError(f"{origin}: not valid TOML: {exc}") from None
    try:
        ruleset = Ruleset.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_field(e['loc'])}: {e['msg']}" for e in exc.errors()[:3]]
        more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        raise RulesetError(
            f"{origin}: {'; '.join(problems)}{more}", hint="see docs/rulesets.md"
        ) from None
    if ruleset.baseline.name not in BASELINES:
        raise RulesetError(
            f"{origin}: baseline.name: unknown baseline {ruleset.baseline.name!r}",
            hint=f"use one of {', '.join(BASELINES)}",
        )
    if expected_name is not None and ruleset.name != expected_name:
        raise RulesetError(f"{origin}: name: {ruleset.name!r} differs from the file name")
    return ruleset


@lru_cache(maxsize=16)
def _load_packaged(name: str) -> Ruleset:
    texts = _packaged()
    if name not in texts:
        close = difflib.get_close_matches(name, texts, n=1)
        raise RulesetError(
            f"unknown ruleset {name!r}; known: {', '.join(sorted(texts))}",
            hint=f"did you mean {close[0]!r}?" if close else "or give a path to a .toml file",
        )
    return parse_ruleset(texts[name], origin=f"{name}.toml", expected_name=name)


def load_ruleset(name: str = DEFAULT_RULESET) -> Ruleset:
    """A packaged ruleset by name, or any ruleset file when ``name`` is a ``.toml`` path."""
    if name.endswith(".toml"):
        path = Path(name)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise RulesetError(f"{path}: cannot read: {exc.strerror}") from None
        return parse_ruleset(text, origin=path.name)
    return _load_packaged(name)
