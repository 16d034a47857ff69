# Sourced by setup.sh and llamacpp.sh: pick_python prints a Python 3.11 command ($PYTHON first).
pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
      echo "$candidate"
      return 0
    fi
  done
  echo "qa needs Python 3.11: install it, or set PYTHON=/path/to/python3.11" >&2
  return 1
}
