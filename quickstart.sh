#!/usr/bin/env bash
# Set up (first run only) and make a head from text on the CPU:
#   ./quickstart.sh ["a description"]   → head.glb, head.json, head.png here
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/bootstrap.sh"
text="${1:-a weathered fisherman in his seventies with a bulbous nose}"
"$root/.venv/bin/headsculpt" generate "$text" --out head.glb --preview head.png
