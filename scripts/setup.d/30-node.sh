# Node checkers of the diagrams (the `mermaid` parser under jsdom, the SCION SCXML interpreter), pinned by
# tools/package-lock.json. `npm ci` runs only when node_modules is missing or older than the lockfile.
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== setup: apt-get install nodejs npm"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      --no-install-recommends nodejs npm >/dev/null
  else
    echo "== setup: Node.js/npm absents : les tests Mermaid/SCXML échoueront sous CI, sinon seront ignorés" >&2
  fi
fi
if command -v npm >/dev/null 2>&1; then
  if [ ! -f tools/node_modules/.package-lock.json ] || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
    echo "== setup: npm ci (tools/)"
    (cd tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
