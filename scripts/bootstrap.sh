#!/usr/bin/env bash
# Create or update the checkout's environments. Idempotent: a second run only
# compares stamps and returns.
#   scripts/bootstrap.sh               .venv with the backend (torch CPU, anny, ...)
#   scripts/bootstrap.sh --judge       also .venv-mediapipe (mediapipe 0.10.21, Python 3.11)
#                                      for `headsculpt evaluate` and the landmark script
#   scripts/bootstrap.sh --test-tools  all of the above, .venv-blender (bpy 4.5, Python
#                                      3.11) and the Khronos glTF validator (npm) in .cache/node
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
# torch is installed first and pinned so pip never swaps in another build.
torch_spec="${HEADSCULPT_TORCH:-torch==2.13.0}"

stamp_matches() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

venv="$root/.venv"
want="$(cat "$root/backend/pyproject.toml" | sha1sum | cut -d' ' -f1) $torch_spec"
if ! stamp_matches "$venv/.headsculpt-stamp" "$want"; then
  echo "setting up $venv (first time: a few minutes)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q "$torch_spec"
  "$venv/bin/python" -m pip install -q -e "$root/backend[dev]"
  echo "$want" > "$venv/.headsculpt-stamp"
fi

need_python311() {
  python311="$(command -v python3.11 || true)"
  [ -n "$python311" ] || { echo "$1 needs Python 3.11 (python3.11 not found)" >&2; exit 1; }
}

if [ "${1:-}" = "--judge" ] || [ "${1:-}" = "--test-tools" ]; then
  # MediaPipe's last wheel with the FaceMesh model pins numpy<2: it gets its own venv.
  judge_venv="$root/.venv-mediapipe"
  mediapipe_spec="mediapipe==0.10.21"
  if ! stamp_matches "$judge_venv/.headsculpt-stamp" "$mediapipe_spec"; then
    need_python311 "$mediapipe_spec"
    echo "setting up $judge_venv with $mediapipe_spec (about 1 GB)" >&2
    "$python311" -m venv "$judge_venv"
    "$judge_venv/bin/python" -m pip install -q "$mediapipe_spec"
    echo "$mediapipe_spec" > "$judge_venv/.headsculpt-stamp"
  fi
fi

if [ "${1:-}" = "--test-tools" ]; then
  blender_venv="$root/.venv-blender"
  bpy_spec="bpy==4.5.*"
  if ! stamp_matches "$blender_venv/.headsculpt-stamp" "$bpy_spec"; then
    need_python311 "bpy 4.5"
    echo "setting up $blender_venv with $bpy_spec (about 400 MB)" >&2
    "$python311" -m venv "$blender_venv"
    "$blender_venv/bin/python" -m pip install -q "$bpy_spec"
    echo "$bpy_spec" > "$blender_venv/.headsculpt-stamp"
  fi
  node_dir="$root/.cache/node"
  if [ ! -f "$node_dir/node_modules/gltf-validator/package.json" ]; then
    command -v npm >/dev/null || { echo "the glTF validator needs node and npm" >&2; exit 1; }
    mkdir -p "$node_dir"
    npm install --silent --no-audit --no-fund --prefix "$node_dir" gltf-validator@2.0.0-dev.3.10
  fi
fi
