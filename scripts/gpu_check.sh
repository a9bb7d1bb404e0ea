#!/usr/bin/env bash
# The GPU path, for real: the organizers' own loop against `esr-validator validate` on one GPU.
#
#   scripts/gpu_check.sh OFFICIAL_TREE            # on a CUDA machine, ~5-7 minutes
#   scripts/gpu_check.sh --dry-run [OFFICIAL_TREE] # on a CPU (CI): every step but the GPU ones
#
# OFFICIAL_TREE is a work tree of github.com/Amazingren/NTIRE2024_ESR (test_demo.py, utils/,
# models/team00_RLFN.py, model_zoo/team00_rlfn.pth). Their code is used from there, never
# copied into this project. On the same RLFN entry and the same synthetic data (10 valid +
# 10 test LR images of the official size, 510x339, HR 2040x1356) it runs
#   1. their test_demo.py (--model_id 0 --include_test), 5 times, each a fresh process, as the
#      organizers ran it;
#   2. esr-validator validate --device cuda --runner local (the ruleset's 5 runs);
#   3. the same entry declared fp16, end to end;
# and prints the runtime ratio (goal: within 3%), both valid memory readings (within 1%),
# PSNR equality, the wall-time ratio (at most 0.5) and the fp16 verdict.
#
# --dry-run (CPU, tiny images, 1 run) checks that the script itself works: data generation,
# packing, the validator's run and the comparison code. Without a tree it packs the bundled
# sample entry instead of RLFN, and the official loop is skipped (it needs CUDA).
# Environment: PYTHON (for their script, default python3), ESR (default esr-validator),
# WORK (scratch folder, default a new temporary one).
set -euo pipefail

DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; shift; fi
TREE="${1:-}"
PYTHON="${PYTHON:-python3}"
ESR="${ESR:-esr-validator}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-$(mktemp -d)}"
RUNS=5
mkdir -p "$WORK"

if [[ $DRY == 0 && -z "$TREE" ]]; then
  echo "usage: $0 [--dry-run] OFFICIAL_TREE" >&2
  exit 2
fi
if [[ -n "$TREE" ]]; then
  for need in test_demo.py utils/utils_image.py models/team00_RLFN.py model_zoo/team00_rlfn.pth; do
    [[ -e "$TREE/$need" ]] || { echo "gpu_check: $TREE has no $need" >&2; exit 2; }
  done
fi
if [[ $DRY == 0 ]]; then
  "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
    || { echo "gpu_check: no CUDA device; use --dry-run" >&2; exit 2; }
  DEVICE=cuda; N=10; LR_W=510; LR_H=339
else
  DEVICE=cpu; N=2; LR_W=48; LR_H=40; RUNS=1
fi
echo "gpu_check: work folder $WORK, device $DEVICE, $N images per split"

# 1. Synthetic data in the official layout: smooth random HR, LR by bicubic x1/4.
"$PYTHON" - "$WORK/data" "$N" "$LR_W" "$LR_H" <<'PY'
import sys
from pathlib import Path
import cv2
import numpy as np
out, n, w, h = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(2024)
for split, first in (("valid", 801), ("test", 901)):
    (out / f"DIV2K_LSDIR_{split}_HR").mkdir(parents=True, exist_ok=True)
    (out / f"DIV2K_LSDIR_{split}_LR").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        coarse = rng.integers(0, 256, size=(h // 4 + 2, w // 4 + 2, 3)).astype(np.uint8)
        hr = cv2.resize(coarse, (4 * w, 4 * h), interpolation=cv2.INTER_CUBIC)
        hr = np.clip(hr + rng.normal(0, 6, hr.shape), 0, 255).astype(np.uint8)
        lr = cv2.resize(hr, (w, h), interpolation=cv2.INTER_AREA)
        stem = f"{first + i:04d}"
        cv2.imwrite(str(out / f"DIV2K_LSDIR_{split}_HR/{stem}.png"), hr)
        cv2.imwrite(str(out / f"DIV2K_LSDIR_{split}_LR/{stem}x4.png"), lr)
PY

# 2. The entry, fp32 and fp16: RLFN from the tree, or (dry run without a tree) the sample.
pack() {  # pack PRECISION OUTPUT
  if [[ -n "$TREE" ]]; then
    "$ESR" pack --model "$TREE/models/team00_RLFN.py" --checkpoint "$TREE/model_zoo/team00_rlfn.pth" \
      --team-id 0 --team-name baseline --class-name RLFN_Prune --model-name RLFN \
      --data-range 255.0 --precision "$1" -o "$2" >/dev/null
  else
    local s="$HERE/sample_submission"
    "$ESR" pack --model "$s/models/team01_TinyESR.py" --checkpoint "$s/model_zoo/team01_TinyESR.pth" \
      --team-id 1 --team-name sample --class-name TinyESR --data-range 1.0 \
      --kwargs '{"num_feat": 24, "num_blocks": 4}' --precision "$1" -o "$2" >/dev/null
  fi
}
pack fp32 "$WORK/entry.zip"
pack fp16 "$WORK/entry_fp16.zip"

# 3. The organizers' loop: test_demo.py, one fresh process per run, in a scratch copy of the
#    tree (it writes results.json into its working directory).
OFFICIAL_WALL=0
if [[ $DRY == 0 ]]; then
  for run in $(seq 1 $RUNS); do
    rm -rf "$WORK/tree" && cp -r "$TREE" "$WORK/tree"
    start=$(date +%s.%N)
    (cd "$WORK/tree" && "$PYTHON" test_demo.py --data_dir "$WORK/data" \
      --save_dir "$WORK/official_out" --model_id 0 --include_test >"$WORK/official_$run.log" 2>&1)
    end=$(date +%s.%N)
    OFFICIAL_WALL=$("$PYTHON" -c "print($OFFICIAL_WALL + $end - $start)")
    cp "$WORK/tree/results.json" "$WORK/official_$run.json"
  done
else
  echo "gpu_check: dry run: skipping the official loop (needs CUDA):"
  echo "  cd TREE && $PYTHON test_demo.py --data_dir $WORK/data --save_dir OUT --model_id 0 --include_test  # x$RUNS"
fi

# 4. The validator, on the same entry and data; then the fp16 entry end to end.
start=$(date +%s.%N)
"$ESR" validate "$WORK/entry.zip" --data-dir "$WORK/data" --device "$DEVICE" --runner local \
  --runs "$RUNS" --no-progress --format json --out "$WORK/report.json" >/dev/null || true
end=$(date +%s.%N)
VALIDATOR_WALL=$("$PYTHON" -c "print($end - $start)")
"$ESR" validate "$WORK/entry_fp16.zip" --data-dir "$WORK/data" --device "$DEVICE" --runner local \
  --runs 1 --stable-runs 0 --no-progress --format json --out "$WORK/report_fp16.json" >/dev/null || true

# 5. The comparison.
"$PYTHON" - "$WORK" "$RUNS" "$DRY" "$OFFICIAL_WALL" "$VALIDATOR_WALL" <<'PY'
import base64
import json
import sys
from pathlib import Path

work, runs, dry = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
official_wall, validator_wall = float(sys.argv[4]), float(sys.argv[5])


def load(path: Path) -> dict:
    """A report, unwrapped from its in-toto statement (DSSE envelope) when --out wrote one."""
    doc = json.loads(path.read_text())
    if "payload" in doc:
        doc = json.loads(base64.b64decode(doc["payload"]))
    return doc.get("predicate", doc)


report = load(work / "report.json")
fp16 = load(work / "report_fp16.json")
problems = []
if report["status"] != "evaluated":
    sys.exit(f"gpu_check: the validator did not evaluate the entry: {report.get('failure')}")
splits = {s["split"]: s for s in report["splits"]}
ours_rt = report["official"]["runtime_ms"]
ours_mem = splits["valid"]["official_memory_mb"]
print(f"validator: runtime {ours_rt:.4f} ms (official set, (valid+test)/2, {runs} runs)")
print(f"validator: valid memory {ours_mem} MB; PSNR valid {splits['valid']['psnr']:.6f} / "
      f"test {splits['test']['psnr']:.6f} dB; wall {validator_wall:.1f} s")


def ratio_line(name: str, ours: float, theirs: float, goal: float) -> None:
    r = ours / theirs
    ok = abs(r - 1) <= goal
    print(f"{name}: validator / official = {r:.4f} (goal within {goal:.0%}): "
          f"{'OK' if ok else 'MISSED'}")
    if not ok:
        problems.append(name)


if dry:
    print("official: skipped (dry run); ratios not computed")
else:
    rows = [json.loads((work / f"official_{i}.json").read_text())["00_RLFN_baseline"]
            for i in range(1, runs + 1)]
    rt = sum((r["valid_ave_runtime"] + r["test_ave_runtime"]) / 2 for r in rows) / runs
    mem = [r["valid_memory"] for r in rows]
    print(f"official: runtime {rt:.4f} ms (mean of {runs} fresh processes); valid memory "
          f"{mem} MB; wall {official_wall:.1f} s")
    ratio_line("runtime ratio", ours_rt, rt, 0.03)
    ratio_line("valid memory ratio", ours_mem, sum(mem) / len(mem), 0.01)
    for split in ("valid", "test"):
        theirs = rows[0][f"{split}_ave_psnr"]
        same = abs(splits[split]["psnr"] - theirs) < 1e-9
        print(f"PSNR {split}: validator {splits[split]['psnr']:.9f} official {theirs:.9f}: "
              f"{'equal' if same else 'DIFFERENT'}")
        if not same:
            problems.append(f"PSNR {split}")
    wall = validator_wall / official_wall
    print(f"wall-time ratio: validator / official = {wall:.3f} (goal at most 0.5): "
          f"{'OK' if wall <= 0.5 else 'MISSED'}")
    if wall > 0.5:
        problems.append("wall time")
verdict = fp16["status"]
fp16_psnr = {s["split"]: s["psnr"] for s in fp16.get("splits", [])}
print(f"fp16 entry: status {verdict}, PSNR {fp16_psnr}")
if verdict != "evaluated":
    problems.append("fp16 entry")
print("gpu_check: " + ("all goals met" if not problems else "missed: " + ", ".join(problems)))
sys.exit(1 if problems else 0)
PY
