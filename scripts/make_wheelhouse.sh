#!/usr/bin/env bash
# Download every file of a lock into .cache/wheelhouse/<variant>/, each checked by its hash.
#
#   scripts/make_wheelhouse.sh [cpu|cuda]      (default cpu)
#
# The image build installs from this directory alone (--no-index --require-hashes): pip in a
# container cannot reach a registry here. Idempotent: files already present and matching the
# lock are kept (pip re-checks their hashes), files the lock no longer names are removed.
# Extra pip arguments (e.g. --extra-index-url for the CPU torch) come from PIP_* variables or
# the pip configuration.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
variant="${1:-cpu}"
PY="${PYTHON:-$here/.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3

read -r lock pyver glibc < <("$PY" - "$variant" <<'PYEOF'
import sys, tomllib
pins = tomllib.load(open("docker/pins.toml", "rb"))[sys.argv[1]]
print(pins["lock"], pins["python"], pins["glibc"])
PYEOF
)
dest=".cache/wheelhouse/$variant"
mkdir -p "$dest"

# Only files for the image's interpreter and glibc; sdists (a few pure-Python packages) are
# allowed, pip builds them offline inside the image.
platforms=()
for m in $(seq "${glibc#*.}" -1 5); do platforms+=(--platform "manylinux_2_${m}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64
            --platform manylinux1_x86_64 --platform linux_x86_64)

# --no-deps: the lock is complete; --require-hashes: every file must match its pinned hash.
# pip refuses --platform without --only-binary for resolution, but with --no-deps it takes
# the sdist of a package that has no wheel.
# --no-build-isolation: pip reads each sdist's metadata in this interpreter, rather than
# installing its setup_requires (basicsr names torch) into a throwaway build environment.
"$PY" -m pip download --no-deps --no-build-isolation --require-hashes --progress-bar off -q \
    --python-version "$pyver" --implementation cp "${platforms[@]}" \
    -r "$lock" -d "$dest"

# Drop files the lock no longer names (older pins), so the build context stays small.
"$PY" - "$lock" "$dest" <<'PYEOF'
import hashlib, pathlib, re, sys
lock, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wanted = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", lock.read_text()))
kept = 0
for f in sorted(dest.iterdir()):
    if hashlib.sha256(f.read_bytes()).hexdigest() in wanted:
        kept += 1
    else:
        print(f"removing {f.name}: not in {lock}")
        f.unlink()
if kept != len(wanted):
    sys.exit(f"wheelhouse {dest} has {kept} files for {len(wanted)} pins")
print(f"wheelhouse {dest}: {kept} files, all matching {lock}")
PYEOF
