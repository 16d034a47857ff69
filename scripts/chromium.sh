#!/usr/bin/env bash
# Installs Debian's Chromium for the web page's browser tests when it is missing. Playwright
# drives this browser (/usr/bin/chromium); its own browser download cannot work offline.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "The browser tests need Chromium at /usr/bin/chromium; install it with your package manager." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q chromium >/dev/null 2>&1 || {
  $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null
}
/usr/bin/chromium --version
