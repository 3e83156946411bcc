#!/usr/bin/env bash
# Run the tests again with the machine's clock moved by libfaketime (Debian's `faketime`) to
# hours at which UTC and Shanghai disagree about the date:
#   2026-12-01 20:30:00 UTC    (04:30 on 2 December in Shanghai)
#   2026-12-01 23:59:30 +0800  (just before midnight in Shanghai; the run crosses it)
# An offset ("+N"/"-N" seconds) rather than a fixed time keeps the clock running, and gives
# every child process (a Celery worker, a CLI, redis-server) the same time as the test process.
# Only the wall clock moves: monotonic clocks keep the machine's (FAKETIME_DONT_FAKE_MONOTONIC),
# and scripts/faketime/sitecustomize.py mends Python's time.sleep, which libfaketime 0.9.10
# breaks that way (with the monotonic clock moved instead, every timed wait of a thread hangs).
# The database is TEST_DB's (sqlite, the default, or postgresql: one temporary cluster per pytest
# run, tests/pgsuite.py). `make test` runs the main run on SQLite and these on PostgreSQL, so they
# are the suite's PostgreSQL run too (dates never depend on the database).
# What runs when:
#   at 20:30 UTC, every module but those in RUNNING_CLOCK, which run at the other instant; on SQLite
#     also but those in NO_DATES, which hold no date, deadline or clock (routes, headers,
#     permissions, hostile input, keys, catalogs) and ran in the main run; on PostgreSQL they
#     run here, with fewer generated examples (TEST_SECOND_RUN=1: tests/test_fuzz.py,
#     tests/test_api_schemathesis.py), for the main run has searched with the full count;
#   at 23:59:30 Shanghai, the modules whose clock keeps running (RUNNING_CLOCK: a Celery worker,
#     the browser tests' live server), the only ones for which a run crossing midnight differs
#     from a run at 20:30 UTC: every other test stands at a fixed moment (tests/conftest.py).
# Usage: scripts/test_at_odd_hours.sh [pytest options, e.g. -n 2]
set -euo pipefail
cd "$(dirname "$0")/.."

command -v faketime >/dev/null || { echo "faketime is not installed: run make system-deps" >&2; exit 1; }
options=("$@")
dated=(tests)
NO_DATES=(api_authorization api_idempotency api_schemathesis api_spec attachments_unit attacks_http authorization config download_name e2e_csp e2e_help fuzz
          e2e_api_docs help hostile_params id_ranges lifecycle_matrix migrations migration_sessions passwords
          permissions secrets security_headers server_header too_large translations)
export TEST_DB=${TEST_DB:-sqlite} TEST_SECOND_RUN=1
for name in "${NO_DATES[@]}"; do
    [ -f "tests/test_$name.py" ] || { echo "NO_DATES names tests/test_$name.py, which is gone" >&2; exit 1; }
    [ "$TEST_DB" = postgresql ] || dated+=(--ignore "tests/test_$name.py")
done
RUNNING_CLOCK=(tests/integration)
for module in tests/test_e2e_*.py; do
    name=${module#tests/test_}; name=${name%.py}
    [[ " ${NO_DATES[*]} " == *" $name "* ]] || RUNNING_CLOCK+=("$module")
done
for module in "${RUNNING_CLOCK[@]}"; do
    dated+=(--ignore "$module")
done

for instant in "2026-12-01 20:30:00 UTC" "2026-12-01 23:59:30 +0800"; do
    if [[ "$instant" == *UTC ]]; then selected=("${dated[@]}"); else selected=("${RUNNING_CLOCK[@]}"); fi
    target=$(date -d "$instant" +%s)
    offset=$(( target - $(date +%s) ))
    sign="+"; [ "$offset" -lt 0 ] && sign=""
    run=(env TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH="$PWD/scripts/faketime${PYTHONPATH:+:$PYTHONPATH}"
         faketime -f "${sign}${offset}")
    echo "== the tests on $TEST_DB at $(TZ=UTC date -d "@$target" '+%Y-%m-%d %H:%M:%S UTC')" \
         "($(TZ=Asia/Shanghai date -d "@$target" '+%Y-%m-%d %H:%M:%S') in Shanghai)"
    # The faked clock must really read the instant, or the run proves nothing; and a sleep and
    # a thread's timed wait must still return.
    seen=$("${run[@]}" timeout 10 .venv/bin/python -c 'import threading, time
time.sleep(0.01); threading.Event().wait(0.01); print(int(time.time()))')
    if [ $(( seen - target )) -lt -5 ] || [ $(( seen - target )) -gt 60 ]; then
        echo "faketime did not move the clock (read $seen, wanted $target)" >&2
        exit 1
    fi
    "${run[@]}" .venv/bin/python -m pytest -q "${selected[@]}" "${options[@]}"
done
