# shellcheck shell=bash
# PostgreSQL server binaries for the adapter contract and race tests (sourced by scripts/test.sh).
# Installs Debian's `postgresql` only when no pg_ctl/initdb can be found; quiet and idempotent.
_segur_have_pg() {
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1
}
if ! _segur_have_pg; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== setup: installing postgresql (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  else
    echo "== setup: PostgreSQL not found and cannot install it (not root or no apt-get): postgres tests will skip" >&2
  fi
fi
unset -f _segur_have_pg
