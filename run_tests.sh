#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite, lint included.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/bootstrap.sh" --test-tools
cd "$root"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Every core at work: one pytest worker per core (at most 4: a sculpt proof holds ~4 GB),
# whole files to a worker (a module's fixtures — a sculpt, a server — are made once), the
# longest first (tests/conftest.py's LONGEST_FILES, not xdist's order by test count), and
# each worker's torch on its own share of the cores (OpenMP threads on a core already
# taken spin and wait). `./run_tests.sh -n 0 tests/test_x.py` runs one file in this process.
cores="$(nproc)"
workers="${HEADSCULPT_TEST_WORKERS:-$((cores < 4 ? cores : 4))}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$((cores / workers > 1 ? cores / workers : 1))}"
# Anny builds its model data once per machine (about a minute): here, not in two workers.
.venv/bin/python -c "from headsculpt.prior.head_model import load_head_model; load_head_model()"
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
