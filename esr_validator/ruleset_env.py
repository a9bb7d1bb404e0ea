"""Does the evaluation environment offer what the ruleset's organizers offered to entries?

A ruleset's ``[environment]`` names the third-party packages the organizers' machine had for
the entries (their requirements, narrowed to what model files import). This check runs on
the trusted side before any worker starts and says up front which of them the run lacks
(``environment-incomplete``), so an entry that crashes on ``No module named 'einops'`` is
read as the environment's gap, not the entry's fault:

- the local runner evaluates in this interpreter: the modules are looked up with
  ``importlib.util.find_spec`` (nothing is imported, no package code runs in the parent);
- the Docker runner evaluates in the image: its package list
  (``intake/packages.py``, ``resources/environment.toml``) says what it carries.
"""

from __future__ import annotations

import importlib.util
import sys

from esr_validator.codes import finding
from esr_validator.intake.packages import load_packages
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.ruleset import EnvPackage, Ruleset


def _findable(module: str) -> bool:
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package or an odd __spec__
        return False


def missing_packages(packages: list[EnvPackage]) -> list[EnvPackage]:
    """The packages whose module this interpreter cannot find."""
    return [p for p in packages if not _findable(p.module)]


def missing_in_image(packages: list[EnvPackage], variant: str) -> list[EnvPackage]:
    """The packages the evaluation image of ``variant`` does not carry."""
    image = load_packages(variant)
    return [p for p in packages if image.provides(p.module) is None]


def environment_findings(ruleset: Ruleset, *, runner: str, variant: str = "cpu") -> list[Finding]:
    packages = ruleset.environment.packages
    if runner == "local":
        missing, where = missing_packages(packages), f"this local environment ({sys.executable})"
    else:
        missing, where = missing_in_image(packages, variant), f"the {variant} evaluation image"
    if not missing:
        return []
    names = ", ".join(f"{p.name} (`{p.module}`)" for p in missing)
    return [
        finding(
            "environment-incomplete",
            f"{where} lacks {names}, which the {ruleset.name} organizers' environment "
            "offered to entries; an entry importing them fails here although the organizers "
            "ran it",
        )
    ]
