#!/usr/bin/env bash
# The sculpt on a GPU, measured in one command (at most 8 minutes on one H100; nothing is
# fetched from the network):
#   1. the accelerators: whether tiny-cuda-nn and nvdiffrast import, and which backend the
#      hash grid and the rasterizer pick for CUDA tensors;
#   2. benchmarks/sculpt_phases.py: a coarse and a fine step of `preview` and `standard`
#      taken apart phase by phase (render, landmark drawing, VAE encode + backward, UNet +
#      ControlNet, regularisers, optimiser), STEPS steps each, synchronised, peak GPU
#      memory, projected totals — Stable Diffusion 1.5's architecture, random fp16 weights;
#   3. one whole `preview` sculpt through the export and the rig, timed.
# It writes report.json and report.md (and the logs) to $OUT, else ./gpu-check.
#
# Packages: the backend needs what `pip install -e backend` installs. On a machine that
# has torch but not the rest (a lent GPU machine), set WHEELS to a folder of wheels made
# with `pip download` for that machine's Python (docs/benchmarks.md, "GPU check"); they are
# installed from there alone (--no-index) into the interpreter in PYTHON (default python3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${OUT:-$root/gpu-check}"
python="${PYTHON:-python3}"
steps="${STEPS:-100}"
mkdir -p "$out"
cd "$root"
if [ -n "${WHEELS:-}" ]; then
  "$python" -m pip install -q --no-index --find-links "$WHEELS" -e "$root/backend" \
    2>&1 | tee "$out/install.log"
fi
export PYTHONPATH="$root/backend${PYTHONPATH:+:$PYTHONPATH}"
export HEADSCULPT_DEVICE=cuda

echo "== 1. accelerators" >&2
"$python" - > "$out/accelerators.json" <<'PY'
import json, torch
from headsculpt.geometry.hash_grid import HashGridConfig, HashGridEncoding
from headsculpt.render.rasterizer import nvdiffrast_available
report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
try:
    import tinycudann  # noqa: F401
    report["tiny_cuda_nn"] = "importable"
except ImportError as error:
    report["tiny_cuda_nn"] = f"not importable ({error})"
report["hash_grid_backend_on_cuda"] = HashGridEncoding(HashGridConfig(), "cuda").backend
report["nvdiffrast"] = "importable" if nvdiffrast_available() else "not importable"
print(json.dumps(report, indent=2))
PY
cat "$out/accelerators.json" >&2

echo "== 2. phases of preview and standard ($steps steps a stage)" >&2
timeout 330 "$python" benchmarks/sculpt_phases.py --presets preview standard --device cuda \
  --steps "$steps" --json "$out/phases.json" 2>"$out/phases.log" | tee "$out/phases.md"

echo "== 3. one whole preview sculpt" >&2
timeout 200 "$python" benchmarks/sculpt_phases.py --presets preview --device cuda \
  --whole "$out/whole" --json "$out/whole.json" 2>"$out/whole.log" | tail -n 20 >&2 || true

"$python" - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
report = {"accelerators": json.loads((out / "accelerators.json").read_text())}
for name in ("phases", "whole"):
    path = out / f"{name}.json"
    report[name] = json.loads(path.read_text()) if path.exists() else "did not finish"
(out / "report.json").write_text(json.dumps(report, indent=2))
lines = ["# GPU check", "", f"device: {report['accelerators']['device']}", ""]
lines += [f"- {k}: {v}" for k, v in report["accelerators"].items() if k != "device"]
lines += ["", (out / "phases.md").read_text() if (out / "phases.md").exists() else "", ""]
if isinstance(report["whole"], list):
    for row in report["whole"]:
        lines.append(f"whole {row['preset']}: {row['sculpt_s']} s (stages {row['stages_s']}), "
                     f"peak GPU {row['peak_gpu_gb']} GB, weights made in {row['setup_s']} s")
else:
    lines.append("whole preview sculpt: did not finish (see whole.log)")
(out / "report.md").write_text("\n".join(lines) + "\n")
print((out / "report.md").read_text())
PY
