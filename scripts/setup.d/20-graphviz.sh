# Real consumers of the diagrams (tests/test_diagrams.py): Graphviz's `dot` parses the DOT and renders
# SVG/PNG; PlantUML (Java, Debian package) checks the PlantUML text. Installed only when absent.
_views_missing=""
command -v dot >/dev/null 2>&1 || _views_missing="$_views_missing graphviz"
command -v plantuml >/dev/null 2>&1 || _views_missing="$_views_missing plantuml"
if [ -n "$_views_missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== setup: apt-get install$_views_missing"
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086 # the list is meant to split into package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      --no-install-recommends $_views_missing >/dev/null
  else
    echo "== setup: paquets Debian absents :$_views_missing (tests des diagrammes ignorés, en échec sous CI)" >&2
  fi
fi
unset _views_missing
