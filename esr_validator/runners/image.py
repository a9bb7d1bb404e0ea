"""The evaluation image: its content-derived tag, and building it when it is missing.

The tag is ``esr-validator:<variant>-<12 hex>``, the hex a sha256 over everything that goes
into the image: the Dockerfile, the variant's pins and lock, and the harness sources
(``esr_validator/``). The same sources always give the same tag, so a rebuild is
only needed when one of them changed, and an image can be traced back to a commit.

Building needs a source checkout (the Dockerfile and locks are not in the installed
package), the wheelhouse (``scripts/make_wheelhouse.sh``) and, for the CPU variant, the
locally made base image (``scripts/make_base_image.sh``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from esr_validator import __version__
from esr_validator.errors import EnvironmentProblem
from esr_validator.runners import _engine

Variant = Literal["cpu", "cuda"]
REPOSITORY = "esr-validator"
LABEL_CONTENT = "io.esr-validator.content"
LABEL_LOCK = "io.esr-validator.lock.sha256"
LABEL_BASE_NAME = "org.opencontainers.image.base.name"
LABEL_BASE_DIGEST = "org.opencontainers.image.base.digest"
HARNESS = ("esr_validator",)
# Kept out of the image: the smoke set's data, ground truth included, must never be in the
# worker's view (the scorer gets HR by a mount of its own).
HARNESS_EXCLUDED = ("esr_validator/data",)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    image_id: str
    base_image: str
    base_digest: str | None
    lock_sha256: str


@dataclass(frozen=True)
class Pins:
    variant: Variant
    base_image: str
    digest: str  # "" for a local base: it has no registry digest
    python: str
    glibc: str
    lock: str  # relative to the source root

    @property
    def base_ref(self) -> str:
        """What ``FROM`` gets: ``name@digest`` where a digest is pinned."""
        return f"{self.base_image}@{self.digest}" if self.digest else self.base_image


def source_root() -> Path:
    root = Path(__file__).resolve().parents[2]
    if not (root / "docker" / "Dockerfile").is_file():
        raise EnvironmentProblem(
            f"no docker/Dockerfile under {root}",
            hint="build the image from a source checkout of esr-validator",
        )
    return root


def load_pins(variant: Variant, root: Path | None = None) -> Pins:
    root = root or source_root()
    table = tomllib.loads((root / "docker" / "pins.toml").read_text())[variant]
    return Pins(variant=variant, **{k: str(v) for k, v in table.items()})


def _harness_files(root: Path) -> Iterator[Path]:
    for top in HARNESS:
        for path in sorted((root / top).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(HARNESS_EXCLUDED) or "__pycache__" in path.parts:
                continue
            if path.is_file() and path.suffix != ".pyc":
                yield path


def content_hash(variant: Variant, root: Path | None = None) -> str:
    """sha256 over the Dockerfile, the variant's pins and lock, and the harness sources."""
    root = root or source_root()
    pins = load_pins(variant, root)
    digest = hashlib.sha256(f"variant={variant}\n".encode())
    digest.update(json.dumps(pins.__dict__, sort_keys=True).encode())
    files = [root / "docker" / "Dockerfile", root / pins.lock, *_harness_files(root)]
    for path in files:
        # Path and content both count: a renamed module is a different image.
        digest.update(f"\0{path.relative_to(root).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_tag(variant: Variant, root: Path | None = None) -> str:
    return f"{REPOSITORY}:{variant}-{content_hash(variant, root)[:12]}"


def lock_sha256(variant: Variant, root: Path | None = None) -> str:
    root = root or source_root()
    return hashlib.sha256((root / load_pins(variant, root).lock).read_bytes()).hexdigest()


def stage_context(variant: Variant, dest: Path, root: Path | None = None) -> Path:
    """Lay out the build context in ``dest``: only what the Dockerfile copies."""
    root = root or source_root()
    pins = load_pins(variant, root)
    wheels = root / ".cache" / "wheelhouse" / variant
    if not wheels.is_dir() or not any(wheels.iterdir()):
        raise EnvironmentProblem(
            f"no wheelhouse at {wheels}", hint=f"run scripts/make_wheelhouse.sh {variant}"
        )
    for path in [root / "docker" / "Dockerfile", root / pins.lock, *_harness_files(root)]:
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    (dest / "wheels").mkdir()
    for wheel in wheels.iterdir():
        _link_or_copy(wheel, dest / "wheels" / wheel.name)
    return dest


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        dst.hardlink_to(src)  # the wheelhouse is hundreds of MB: avoid copying it
    except OSError:
        shutil.copy2(src, dst)


def _info(image: Any, tag: str) -> ImageInfo:
    labels: dict[str, str] = image.labels or {}
    return ImageInfo(
        tag=tag,
        image_id=str(image.id),
        base_image=labels.get(LABEL_BASE_NAME, "unknown"),
        base_digest=labels.get(LABEL_BASE_DIGEST) or None,
        lock_sha256=labels.get(LABEL_LOCK, "unknown"),
    )


def _base_digest(client: Any, pins: Pins) -> str:
    if pins.digest:
        return pins.digest
    docker = _engine.sdk()

    try:  # a local base has no registry digest: its image id identifies it
        return str(client.images.get(pins.base_image).id)
    except docker.errors.ImageNotFound as exc:
        raise EnvironmentProblem(
            f"base image {pins.base_image} is missing", hint="run make base-image"
        ) from exc


def ensure_image(variant: Variant, *, build: bool = True, client: Any = None) -> ImageInfo:
    """Return the image for the current sources, building it if allowed and missing."""
    docker = _engine.sdk()

    root = source_root()
    client = client or _engine.client(timeout=3600)
    pins = load_pins(variant, root)
    tag = image_tag(variant, root)
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        image = None
    # The CPU base is local and can be remade with the same name: rebuild on top of a new one.
    if image is not None and (
        pins.digest or _info(image, tag).base_digest == _base_digest(client, pins)
    ):
        return _info(image, tag)
    if not build:
        raise EnvironmentProblem(f"image {tag} is not built", hint="run make image")
    return _build(client, pins, tag, root)


SOURCE_URL = "https://github.com/ntire-esr/esr-validator"


def oci_build_args(root: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The OCI labels' build args: source, revision (the checkout's commit), created (RFC
    3339; ``SOURCE_DATE_EPOCH`` when set, for reproducible builds) and licenses."""
    env = dict(os.environ) if env is None else env
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=False, timeout=10,
        )  # fmt: skip
        revision = done.stdout.strip() if done.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        revision = "unknown"
    epoch = env.get("SOURCE_DATE_EPOCH", "")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return {
        "SOURCE_URL": SOURCE_URL,
        "REVISION": revision,
        "CREATED": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "LICENSES": "MIT",
    }


def _build(client: Any, pins: Pins, tag: str, root: Path) -> ImageInfo:
    docker = _engine.sdk()

    buildargs = {
        "BASE_IMAGE": pins.base_ref,
        "BASE_DIGEST": _base_digest(client, pins),
        "VARIANT": pins.variant,
        "LOCK_FILE": pins.lock,
        "VALIDATOR_VERSION": __version__,
        "LOCK_SHA256": lock_sha256(pins.variant, root),
        **oci_build_args(root),
    }
    # The CPU build needs no network (python3 is in the base, wheels come from the context):
    # "none" proves it. The CUDA build apt-installs python3: the default bridge where there is
    # one, else the host's network (engines started with --bridge=none).
    if pins.variant == "cpu":
        network: str | None = "none"
    else:
        network = None if client.networks.list(names=["bridge"]) else "host"
    scratch = root / ".cache" / "build"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        context = stage_context(pins.variant, Path(tmp), root)
        log.info("building %s from %s", tag, pins.base_ref)
        # The engine API's /build endpoint is the classic builder (no BuildKit session), which
        # the Dockerfile is written for; the SDK needs no CLI.
        stream = client.api.build(
            path=str(context),
            dockerfile="docker/Dockerfile",
            tag=tag,
            buildargs=buildargs,
            labels={LABEL_CONTENT: content_hash(pins.variant, root)},
            network_mode=network,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                raise EnvironmentProblem(
                    f"building {tag} failed: {chunk['error'].strip()}",
                    hint="see the build output above; docs/container.md lists the prerequisites",
                )
            text = str(chunk.get("stream", "")).rstrip()
            if text:
                log.info("%s", text)
    try:
        return _info(client.images.get(tag), tag)
    except docker.errors.ImageNotFound as exc:
        raise EnvironmentProblem(f"build of {tag} produced no image") from exc


def main(argv: list[str] | None = None) -> int:
    """``python -m esr_validator.runners.image {tag,build} [--variant cpu|cuda]``."""
    parser = argparse.ArgumentParser(prog="python -m esr_validator.runners.image")
    parser.add_argument("command", choices=["tag", "build", "check"])
    parser.add_argument("--variant", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args(argv)
    variant: Variant = args.variant
    if args.command == "tag":
        print(image_tag(variant))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        info = ensure_image(variant, build=args.command == "build")
    except EnvironmentProblem as exc:
        print(exc.describe(), file=sys.stderr)
        return exc.exit_code
    print(json.dumps(info.__dict__, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
