#!/usr/bin/env bash
# Re-extract translatable strings and refresh the zh and en catalogs, then compile them.
# Usage: scripts/update_catalogs.sh   (from anywhere; runs at the repo root)
set -euo pipefail

cd "$(dirname "$0")/.."

PYBABEL=.venv/bin/pybabel

"$PYBABEL" extract -F babel.cfg -k _l -k _p:1c,2 -o translations/messages.pot --no-location \
    --ignore-dirs=".venv tests" .

for lang in zh en; do
    if [ ! -f "translations/$lang/LC_MESSAGES/messages.po" ]; then
        "$PYBABEL" init -i translations/messages.pot -d translations -l "$lang"
    else
        "$PYBABEL" update -i translations/messages.pot -d translations -l "$lang" --no-fuzzy-matching
    fi
done

"$PYBABEL" compile -d translations -f
