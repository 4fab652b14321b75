#!/usr/bin/env bash
# Create or update the checkout's environments. Idempotent: a second run only
# compares stamps and returns.
#   scripts/bootstrap.sh               .venv with the backend (torch CPU, anny, ...), its
#                                      dev tools and Ray for `headsculpt batch`
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
  "$venv/bin/python" -m pip install -q -e "$root/backend[dev,batch]"
  echo "$want" > "$venv/.headsculpt-stamp"
fi

# A Python 3.11 venv at $1 with the pip spec $2 ($3: its size, for the message).
python311_venv() {
  if ! stamp_matches "$1/.headsculpt-stamp" "$2"; then
    python311="$(command -v python3.11 || true)"
    [ -n "$python311" ] || { echo "$2 needs Python 3.11 (python3.11 not found)" >&2; exit 1; }
    echo "setting up $1 with $2 ($3)" >&2
    "$python311" -m venv "$1"
    "$1/bin/python" -m pip install -q "$2"
    echo "$2" > "$1/.headsculpt-stamp"
  fi
}

if [ "${1:-}" = "--judge" ] || [ "${1:-}" = "--test-tools" ]; then
  # MediaPipe's last wheel with the FaceMesh model pins numpy<2: it gets its own venv.
  python311_venv "$root/.venv-mediapipe" "mediapipe==0.10.21" "about 1 GB"
fi

if [ "${1:-}" = "--test-tools" ]; then
  python311_venv "$root/.venv-blender" "bpy==4.5.*" "about 400 MB"
  node_dir="$root/.cache/node"
  if [ ! -f "$node_dir/node_modules/gltf-validator/package.json" ]; then
    command -v npm >/dev/null || { echo "the glTF validator needs node and npm" >&2; exit 1; }
    mkdir -p "$node_dir"
    npm install --silent --no-audit --no-fund --prefix "$node_dir" gltf-validator@2.0.0-dev.3.10
  fi
fi
