# shellcheck shell=bash
# Headless browser for the docs-site and HTML-screen checks (tests/browser_util.py): Debian's chromium and
# chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver). Installed only when absent; quiet, idempotent.
_browser_missing=""
command -v chromium >/dev/null 2>&1 || _browser_missing="$_browser_missing chromium"
command -v chromedriver >/dev/null 2>&1 || _browser_missing="$_browser_missing chromium-driver"
if [ -n "$_browser_missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== setup: apt-get install$_browser_missing"
    apt-get update -qq >/dev/null
    # fonts-dejavu-core: French accents drawn in the screenshots whatever else the image has
    # shellcheck disable=SC2086 # the list is meant to split into package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      --no-install-recommends $_browser_missing fonts-dejavu-core >/dev/null
  else
    echo "== setup: Chromium absent (paquets chromium chromium-driver) : tests navigateur ignorés, en échec sous CI" >&2
  fi
fi
unset _browser_missing
