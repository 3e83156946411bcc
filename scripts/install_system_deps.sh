#!/usr/bin/env bash
# The system packages the tests need: Chromium (for Playwright), a Redis server,
# the Noto CJK fonts (so that Chinese renders in screenshots and PDFs), and faketime
# (libfaketime: the suite runs again at hours when UTC and Shanghai disagree on the date), and
# PostgreSQL 15's server binaries (tests/pg.py starts throwaway clusters from /usr/lib/postgresql/15/bin).
# Idempotent: installs only when something is missing.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=("chromium")
command -v redis-server >/dev/null 2>&1 || missing+=("redis-server")
command -v faketime >/dev/null 2>&1 || missing+=("faketime")
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=("postgresql-15")
if ! { fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
        || dpkg -s fonts-noto-cjk >/dev/null 2>&1; }; then
    missing+=("Noto CJK fonts")
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "System dependencies present: chromium, redis-server, faketime, Noto CJK fonts, postgresql-15"
    exit 0
fi

echo "Missing: ${missing[*]}; installing with apt-get"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q chromium fonts-noto-cjk redis-server faketime postgresql-15
echo "System dependencies installed"
