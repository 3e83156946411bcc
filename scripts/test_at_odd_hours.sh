#!/usr/bin/env bash
# Run the tests again with the machine's clock moved by libfaketime (Debian's `faketime`) to
# hours at which UTC and Shanghai disagree about the date:
#   2026-12-01 20:30:00 UTC    (04:30 on 2 December in Shanghai)
#   2026-12-01 23:59:30 +0800  (just before midnight in Shanghai; the run crosses it)
# An offset ("+N"/"-N" seconds) rather than a fixed time keeps the clock running, and gives
# every child process (a Celery worker, a CLI, redis-server) the same time as the test process.
# (Monotonic clocks move with it: with FAKETIME_DONT_FAKE_MONOTONIC, libfaketime 0.9.10 makes
# every time.sleep of Python 3.11 fail with EINVAL.)
# Usage: scripts/test_at_odd_hours.sh [pytest arguments]   (default: tests)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v faketime >/dev/null || { echo "faketime is not installed: run make system-deps" >&2; exit 1; }
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(tests)

for instant in "2026-12-01 20:30:00 UTC" "2026-12-01 23:59:30 +0800"; do
    target=$(date -d "$instant" +%s)
    offset=$(( target - $(date +%s) ))
    sign="+"; [ "$offset" -lt 0 ] && sign=""
    run=(env TZ=UTC faketime -f "${sign}${offset}")
    echo "== the tests at $(TZ=UTC date -d "@$target" '+%Y-%m-%d %H:%M:%S UTC')" \
         "($(TZ=Asia/Shanghai date -d "@$target" '+%Y-%m-%d %H:%M:%S') in Shanghai)"
    # The faked clock must really read the instant, or the run proves nothing.
    seen=$("${run[@]}" .venv/bin/python -c 'import time; print(int(time.time()))')
    if [ $(( seen - target )) -lt -5 ] || [ $(( seen - target )) -gt 60 ]; then
        echo "faketime did not move the clock (read $seen, wanted $target)" >&2
        exit 1
    fi
    "${run[@]}" .venv/bin/python -m pytest -q "${args[@]}"
done
