# Graphviz's `dot`: the DOT diagrams are checked by it, and SVG/PNG rendering uses it (tests/test_diagrams*.py).
if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== setup: apt-get install graphviz"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      --no-install-recommends graphviz >/dev/null
  else
    echo "== setup: Graphviz absent (paquet Debian « graphviz ») : les tests DOT/SVG échoueront sous CI, sinon seront ignorés" >&2
  fi
fi
