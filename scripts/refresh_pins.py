#!/usr/bin/env python3
"""Refresh the registry digests in docker/pins.toml (and the Dockerfile's default).

    python scripts/refresh_pins.py [--check]

For each variant whose base is a registry image (a non-empty ``digest``), ask the registry
for the tag's current digest: through the Docker engine (``images.get_registry_data``, which
uses the engine's credentials and mirrors) when one answers, else the registry's HTTP API
(Docker Hub's anonymous token flow). The digest is the one of the tag's manifest list, so it
stays valid for every platform. ``--check`` only reports, exiting 1 when a pin is stale.

Where no registry is reachable (the air-gapped build machines) it says so and exits 3,
leaving the file untouched: the pins are refreshed by whoever has a registry.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "docker" / "pins.toml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
EXIT_UNREACHABLE = 3
ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class Unreachable(Exception):
    pass


def _via_engine(ref: str) -> str:
    try:
        # By name: the source tree's docker/ directory would shadow the SDK for type checkers.
        docker: Any = importlib.import_module("docker")
        client = docker.from_env(timeout=30)
        client.ping()
        return str(client.images.get_registry_data(ref).id)
    except Exception as exc:  # no SDK, no engine, or the engine reached no registry
        raise Unreachable(f"engine: {exc}") from exc


def _via_http(ref: str) -> str:
    name, _, tag = ref.partition(":")
    repo = name if "/" in name else f"library/{name}"
    try:
        token_url = (
            f"https://auth.docker.io/token?service=registry.docker.io&scope=repository:{repo}:pull"
        )
        with urllib.request.urlopen(token_url, timeout=20) as reply:
            token = json.load(reply)["token"]
        request = urllib.request.Request(
            f"https://registry-1.docker.io/v2/{repo}/manifests/{tag}",
            method="HEAD",
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
        )
        with urllib.request.urlopen(request, timeout=20) as reply:  # noqa: S310
            return str(reply.headers["Docker-Content-Digest"])
    except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
        raise Unreachable(f"registry HTTP API: {exc}") from exc


def current_digest(ref: str) -> str:
    errors = []
    for lookup in (_via_engine, _via_http):
        try:
            digest = lookup(ref)
        except Unreachable as exc:
            errors.append(str(exc))
            continue
        if re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return digest
        errors.append(f"{lookup.__name__}: unexpected digest {digest!r}")
    raise Unreachable("; ".join(errors))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if stale")
    args = parser.parse_args(argv)
    pins = tomllib.loads(PINS.read_text())
    text, dockerfile, stale = PINS.read_text(), DOCKERFILE.read_text(), False
    for variant, table in pins.items():
        old = table.get("digest", "")
        if not old:
            print(f"{variant}: {table['base_image']} is made locally, no registry digest")
            continue
        try:
            new = current_digest(table["base_image"])
        except Unreachable as exc:
            print(
                f"{variant}: no registry reachable for {table['base_image']} ({exc}).\n"
                "The pins stay as they are; refresh them on a machine with registry access.",
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        if new == old:
            print(f"{variant}: {table['base_image']} is current ({old})")
            continue
        stale = True
        print(f"{variant}: {table['base_image']} {old} -> {new}")
        text = text.replace(old, new)
        dockerfile = dockerfile.replace(
            f"{table['base_image']}@{old}", f"{table['base_image']}@{new}"
        )
    if stale and not args.check:
        PINS.write_text(text)
        DOCKERFILE.write_text(dockerfile)
        print("updated docker/pins.toml and docker/Dockerfile; rebuild the image (make image)")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
