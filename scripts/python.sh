# Sourced by setup.sh, llamacpp.sh and test.sh.
#   pick_python        a supported Python (3.11 to 3.13): $PYTHON first, then the newest on PATH
#   other_pythons PY   the other supported versions found (on PATH or under pyenv), one per line
SUPPORTED_PYTHONS="3.13 3.12 3.11"

python_version() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

is_supported() {
  local version
  version="$(python_version "$1")" || return 1
  case " $SUPPORTED_PYTHONS " in *" $version "*) return 0 ;; esac
  return 1
}

pick_python() {
  local candidate
  if [ -n "${PYTHON:-}" ]; then
    if command -v "$PYTHON" >/dev/null 2>&1 && is_supported "$PYTHON"; then
      echo "$PYTHON"
      return 0
    fi
    echo "PYTHON=$PYTHON is not Python 3.11, 3.12 or 3.13." >&2
    return 1
  fi
  for candidate in python3 python3.13 python3.12 python3.11 python; do
    if command -v "$candidate" >/dev/null 2>&1 && is_supported "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  echo "qa needs Python 3.11, 3.12 or 3.13: install one, or set PYTHON=/path/to/python3" >&2
  return 1
}

other_pythons() {
  local used version candidate
  used="$(python_version "$1")"
  for version in $SUPPORTED_PYTHONS; do
    [ "$version" = "$used" ] && continue
    for candidate in "python$version" "$(pyenv root 2>/dev/null)/versions/$version"*/bin/python; do
      if command -v "$candidate" >/dev/null 2>&1 && [ "$(python_version "$candidate")" = "$version" ]; then
        echo "$candidate"
        break
      fi
    done
  done
}
