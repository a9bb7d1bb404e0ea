#!/usr/bin/env bash
# Make this machine ready for the docker tests: engine, base image, wheelhouse, CPU image.
#
#   bash scripts/ci_docker_setup.sh && export ESR_REQUIRE_DOCKER=1
#
# - installs docker.io, debootstrap and Debian's keyring from the archive where they are missing;
# - starts dockerd in the background where no engine answers, without iptables or a bridge
#   (containers run with --network none; builds that need the network use the host's);
# - makes the local bookworm base image, the CPU wheelhouse and the CPU evaluation image.
# Every step is skipped when its result is already there, so a rerun costs seconds.
# Needs root (apt, dockerd, debootstrap). With ESR_REQUIRE_DOCKER=1 exported afterwards, the
# docker tests fail instead of skipping if any of this is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
PYTHON="${PYTHON:-$here/.venv/bin/python}"
log="${DOCKERD_LOG:-/tmp/dockerd.log}"
step() { printf '== %s (%ss)\n' "$*" "$SECONDS"; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# Ubuntu (GitHub-hosted runners) lacks Debian's keyring, which the bookworm base is checked by.
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
if ((${#missing[@]})); then
    step "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    step "starting dockerd (log: $log)"
    setsid nohup dockerd --iptables=false --ip-masq=false --bridge=none >"$log" 2>&1 < /dev/null &
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        echo "dockerd did not come up; last lines of $log:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
fi
step "engine $(docker version --format '{{.Server.Version}}') answers"

# A cold CPU build holds the 3 GB wheelhouse, the build context the engine unpacks (3 GB), the
# venv stage (wheels and venv, 9.6 GB) and the image (6.4 GB) at once: 23-24 GB measured at its
# peak on top of the wheelhouse (docs/container.md). Say so up front rather than fail halfway
# through a layer.
need_mb="${ESR_BUILD_DISK_MB:-28000}"
if ! "$PYTHON" -m esr_validator.runners.image check --variant cpu >/dev/null 2>&1; then
    free_mb="$(df -Pm "$(docker info --format '{{.DockerRootDir}}')" | awk 'NR==2 {print $4}')"
    if ((free_mb < need_mb)); then
        echo "the CPU image build needs about ${need_mb} MB free under the engine's root;" \
             "${free_mb} MB are (ESR_BUILD_DISK_MB overrides)" >&2
        exit 1
    fi
fi
step "base image"
PYTHON="$PYTHON" scripts/make_base_image.sh
step "wheelhouse"
PYTHON="$PYTHON" scripts/make_wheelhouse.sh cpu
step "CPU evaluation image"
"$PYTHON" -m esr_validator.runners.image build --variant cpu >/dev/null
step "ready: $("$PYTHON" -m esr_validator.runners.image tag --variant cpu)"
