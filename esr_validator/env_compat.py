"""Module names the organizers' environment had and a current torchvision dropped.

torchvision 0.17 removed ``torchvision.transforms.functional_tensor`` (0.15 and 0.16 kept it as
an alias of ``_functional_tensor``). basicsr 1.4.2, the last release, imports it at import
time (``basicsr.data.degradations``), so on a current torchvision ``import basicsr`` fails
where the organizers' torchvision 0.14 worked. The image build writes the alias back, exactly
as torchvision 0.15-0.16 provided it:

    python -m esr_validator.env_compat      (docker/Dockerfile; a no-op without torchvision)

It runs at build time only, as root, before the root filesystem becomes read-only; nothing
here runs during an evaluation.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ALIAS = (
    '"""Restored by esr-validator: torchvision <= 0.16 had this alias."""\n'
    "from torchvision.transforms._functional_tensor import *  # noqa: F403\n"
)


def install_aliases() -> str:
    """Write the ``functional_tensor`` alias into this interpreter's torchvision, if any."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return "torchvision is not installed: no alias needed"
    target = Path(next(iter(spec.submodule_search_locations))) / "transforms"
    alias = target / "functional_tensor.py"
    if alias.exists():
        return f"{alias} exists"
    if not (target / "_functional_tensor.py").exists():
        raise SystemExit(f"{target} has no _functional_tensor.py to alias")
    alias.write_text(ALIAS)
    return f"wrote {alias}"


if __name__ == "__main__":
    print(install_aliases())
