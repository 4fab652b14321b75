#!/usr/bin/env bash
# Mutation testing of the modules that carry the product's promises (docs/testing.md).
#   scripts/mutation_check.sh prior/code_mapping.py [more modules] [--sample N] [--budget S]
# Runs in scratch copies under /tmp/headsculpt-mutation; the checkout is not touched.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
exec nice -n 19 .venv/bin/python -m benchmarks.mutation "$@"
