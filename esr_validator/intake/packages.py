"""The evaluation environment's package list (``resources/environment.toml``), typed.

The static source check asks two questions of it: does the image flavour (``variant``) provide
the package behind an imported module, and if not, is there a known reason. ``"cuda"`` is the
official image, so it is the default; ``"cpu"`` is the image built without a GPU or registry.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from esr_validator.errors import EnvironmentProblem, UsageError

VARIANTS = ("cuda", "cpu")


class Package(BaseModel):
    """One package of ``environment.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    modules: tuple[str, ...] = Field(min_length=1)
    usual: bool
    variants: tuple[str, ...] = Field(min_length=1)


class _EnvironmentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    packages: tuple[Package, ...] = Field(alias="package")
    unavailable: dict[str, str] = Field(default_factory=dict)


class PackageList:
    """The packages one image variant offers to submission code."""

    def __init__(
        self, *, variant: str, packages: tuple[Package, ...], unavailable: dict[str, str]
    ) -> None:
        self.variant = variant
        self.packages = packages
        self._by_module = {m: p for p in packages for m in p.modules}
        self._unavailable = dict(unavailable)

    def provides(self, module: str) -> Package | None:
        """The package providing ``module`` (dotted names allowed) in this variant, if any."""
        package = self._by_module.get(_top(module))
        if package is None or self.variant not in package.variants:
            return None
        return package

    def unavailable_reason(self, module: str) -> str | None:
        """Why a package requested by real entries is deliberately not provided."""
        return self._unavailable.get(_top(module))

    def other_variants(self, module: str) -> tuple[str, ...]:
        """The variants (other than this one) whose image provides ``module``."""
        package = self._by_module.get(_top(module))
        if package is None:
            return ()
        return tuple(v for v in package.variants if v != self.variant)


def _top(module: str) -> str:
    return module.split(".", 1)[0]


@lru_cache(maxsize=len(VARIANTS))
def load_packages(variant: str = "cuda") -> PackageList:
    """Load ``environment.toml`` for ``variant`` ("cuda", the official image, or "cpu")."""
    if variant not in VARIANTS:
        raise UsageError(
            f"unknown environment variant {variant!r}", hint=f"use one of {', '.join(VARIANTS)}"
        )
    resource = resources.files("esr_validator").joinpath("resources/environment.toml")
    text = resource.read_text("utf-8")
    try:
        parsed = _EnvironmentFile.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise EnvironmentProblem(
            f"esr_validator/resources/environment.toml is invalid: {exc}",
            hint="fix the resource file; it ships with the validator",
        ) from exc
    return PackageList(variant=variant, packages=parsed.packages, unavailable=parsed.unavailable)
