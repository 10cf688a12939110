# Sourced by scripts/test, scripts/devnet and scripts/bench: make .venv and install incoop into it.
# The install is skipped when pyproject.toml has not changed since the last one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "incoop needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.incoop-installed${EXTRAS:+-$EXTRAS}"
TEST_STAMP="$VENV/.incoop-installed-test"
if [ -z "$EXTRAS" ] && [ -f "$TEST_STAMP" ] && [ "$TEST_STAMP" -nt "$ROOT/pyproject.toml" ]; then
    STAMP="$TEST_STAMP"  # the test install holds everything the plain one does
fi
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    echo "installing incoop${EXTRAS:+ with [$EXTRAS]} into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT${EXTRAS:+[$EXTRAS]}" >&2
    touch "$STAMP"
fi
