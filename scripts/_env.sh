# Sourced by scripts/demo and scripts/test: make sure .venv exists and holds the project with its dev tools.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${AIM_PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setting up .venv (first run only) ..."
  "$python" -m venv .venv
fi
stamp=.venv/.aim-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
