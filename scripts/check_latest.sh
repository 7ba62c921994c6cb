#!/usr/bin/env bash
# Will the next upstream release break adaft? Install the newest versions pyproject.toml allows into a
# scratch venv (not .venv), run the fast tests there, and list what differs from constraints.txt.
#   bash scripts/check_latest.sh           check only (exit status: the tests')
#   bash scripts/check_latest.sh --write   also write the scratch venv's versions into constraints.txt
#                                          when the tests pass (then run the whole suite on them: README)
# ADAFT_LATEST_VENV picks the scratch venv (default: a new temporary folder, removed afterwards).
# Not part of CI, which stays on the pinned set.
set -euo pipefail
cd "$(dirname "$0")/.."
WRITE=0
for arg in "$@"; do
  case "$arg" in
    --write) WRITE=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "check_latest.sh: unknown option $arg (valid: --write, --help)" >&2; exit 2 ;;
  esac
done
VENV="${ADAFT_LATEST_VENV:-}"
if [ -z "$VENV" ]; then
  VENV="$(mktemp -d)/venv"
  trap 'rm -rf "$(dirname "$VENV")"' EXIT
fi
ADAFT_VENV="$VENV" bash scripts/install.sh --test --latest
FREEZE="$(mktemp)"
"$VENV/bin/python" -m pip freeze --exclude-editable 2>/dev/null | grep -v -i -E '^(torch|nvidia-|triton)' > "$FREEZE"
echo "check_latest.sh: versions that differ from constraints.txt (lock -> newest):"
"$VENV/bin/python" - "$FREEZE" <<'EOF'
import sys
from pathlib import Path

def pins(text):
    return {(k := line.split("==")[0].lower().replace("_", "-")): line.split("==")[1]
            for line in text.splitlines() if "==" in line and not line.startswith("#")}

lock, new = pins(Path("constraints.txt").read_text()), pins(Path(sys.argv[1]).read_text())
changed = [f"  {k}: {lock.get(k, '-')} -> {new.get(k, '-')}" for k in sorted(set(lock) | set(new)) if lock.get(k) != new.get(k)]
print("\n".join(changed) or "  none")
EOF
status=0
ADAFT_UNPINNED=1 "$VENV/bin/python" -m pytest -q -m "not slow" || status=$?
if [ "$status" -eq 0 ] && [ "$WRITE" -eq 1 ]; then
  { sed -n '/^#/p' constraints.txt; cat "$FREEZE"; } > constraints.txt.new && mv constraints.txt.new constraints.txt
  echo "check_latest.sh: constraints.txt updated; run the whole suite on it before committing"
fi
rm -f "$FREEZE"
exit "$status"
