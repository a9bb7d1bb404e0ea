"""Containers a run left behind carry its owner label; a sweep removes a dead owner's only."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from esr_validator import leftovers, owner
from esr_validator.owner import Owner
from esr_validator.runners.base import ProcessSpec
from esr_validator.runners.docker import LABEL_MANAGED, Sandbox, create_kwargs

pytestmark = pytest.mark.docker


def _dead_owner() -> Owner:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from esr_validator import owner; print(owner.env_value())"],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate(timeout=60)
    record = owner.parse(out.strip())
    assert record is not None
    return record


def _any_image(engine: Any) -> str:
    tags = [tag for image in engine.images.list() for tag in image.tags]
    if not tags:
        pytest.skip("no local image to create a container from")
    return sorted(tags)[0]


def _create(engine: Any, image: str, labels: dict[str, str]) -> str:
    name = f"esr-test-leftover-{uuid.uuid4().hex[:12]}"
    engine.containers.create(image, command=["true"], name=name, labels=labels)
    return name


def _exists(engine: Any, name: str) -> bool:
    return bool(engine.api.containers(all=True, filters={"name": name}))


def test_the_runner_labels_its_containers_with_the_owner() -> None:
    spec = ProcessSpec(role="worker", module="m", args=(), mounts=(), timeout_s=1)
    labels = create_kwargs(spec, image="x", name="n", sandbox=Sandbox())["labels"]
    assert owner.parse(labels[owner.LABEL_OWNER]) == owner.current()
    assert labels[owner.LABEL_RUN] == owner.current().run


def test_only_a_dead_owners_container_is_removed(docker_engine: Any, tmp_path: Path) -> None:
    image = _any_image(docker_engine)
    dead = _dead_owner()
    gone = _create(docker_engine, image, {owner.LABEL_OWNER: dead.model_dump_json()})
    live = _create(docker_engine, image, owner.labels())
    unlabelled = _create(docker_engine, image, {LABEL_MANAGED: "1"})  # an older run's look-alike
    forged = _create(docker_engine, image, {owner.LABEL_OWNER: "not a record"})
    try:
        swept = leftovers.sweep(root=tmp_path, containers=True)
        assert gone in swept.containers and not _exists(docker_engine, gone)
        for name in (live, unlabelled, forged):
            assert _exists(docker_engine, name), name
            assert name not in swept.containers
    finally:
        for name in (gone, live, unlabelled, forged):
            if _exists(docker_engine, name):
                docker_engine.api.remove_container(name, force=True)
