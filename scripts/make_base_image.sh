#!/usr/bin/env bash
# Make the local CPU base image from Debian's packages alone: no image registry needed.
#
#   scripts/make_base_image.sh [--force]
#
# debootstrap (minbase) a bookworm root with python3 and python3-venv, strip caches and
# docs, and `docker import` it as the name pinned in docker/pins.toml ([cpu] base_image).
# Idempotent: does nothing when that image already exists, unless --force.
# Needs root (debootstrap chroots) and a Docker engine. About 3 minutes on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

PY="${PYTHON:-python3}"
name="$("$PY" - <<'PYEOF'
import tomllib
with open("docker/pins.toml", "rb") as f:
    print(tomllib.load(f)["cpu"]["base_image"])
PYEOF
)"
suite="${ESR_BASE_SUITE:-bookworm}"
mirror="${ESR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

if [[ $force -eq 0 ]] && docker image inspect "$name" >/dev/null 2>&1; then
    echo "base image $name exists; nothing to do (--force to remake)"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

root="$here/.cache/rootfs-$suite"
rm -rf "$root"
mkdir -p "$root"
# The trap keeps a failed run from leaving a half-made root behind (it is large).
trap 'rm -rf "$root"' EXIT

# python3-venv brings ensurepip's bundled pip: the Dockerfile installs the wheelhouse into a
# venv with it, offline, so the image build needs no network at all.
# --force-check-gpg: the Release file must verify against Debian's keyring (on Ubuntu, e.g. a
# GitHub-hosted runner, debootstrap would otherwise go on unverified when the keyring is missing).
debootstrap --force-check-gpg --variant=minbase --include=python3,python3-venv \
    "$suite" "$root" "$mirror"

# Lean: nothing below is needed at run time.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/usr/share/locale/* "$root"/var/log/* "$root"/tmp/*

created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/usr/bin/python3"]' \
    --message "debootstrap --variant=minbase $suite + python3 python3-venv ($created)" \
    - "$name"
echo "made $name: $(docker image inspect --format '{{.Id}}' "$name")"
