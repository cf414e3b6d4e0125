#!/usr/bin/env bash
# `npm test`: vitest (TypeScript, real PostgreSQL, real engines) then pytest
# (python/). Both always run; the last line sums them up.
set -uo pipefail
cd "$(dirname "$0")/.."
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.cache/numba}"
report_dir=$(mktemp -d)
trap 'rm -rf "$report_dir"' EXIT

npx vitest run --reporter=default --reporter=json --outputFile.json="$report_dir/vitest.json" "$@"
vitest_rc=$?

python/.venv/bin/python -m pytest -q python/tests --junitxml="$report_dir/pytest.xml"
pytest_rc=$?
[ $pytest_rc -eq 5 ] && pytest_rc=1 # "no tests collected" is a failure here

node scripts/test-summary.mjs "$report_dir/vitest.json" "$report_dir/pytest.xml"
summary_rc=$?
[ $vitest_rc -eq 0 ] && [ $pytest_rc -eq 0 ] && [ $summary_rc -eq 0 ]
