#!/usr/bin/env bash
# `make screenshots`: every customer screen in zh_CN and en at 1024x600 and 800x480, into docs/screens/
# (tests/ui/ui_gallery_main.py lists the screens). Each size and language runs in its own Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=docs/screens
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for size in 1024x600 800x480; do
  w=${size%x*}; h=${size#*x}
  for lang in zh_CN en; do
    echo "screens at ${size} in ${lang}"
    KIVY_NO_ARGS=1 KIVY_HOME="$work/kivy" KIVY_NO_CONSOLELOG=1 PYTHONPATH=. \
      xvfb-run -a -s "-screen 0 1280x1024x24 +extension GLX" \
      "$PY" tests/ui/ui_gallery_main.py "$work/shots" --width "$w" --height "$h" --language "$lang"
  done
done
# small files: RGB without alpha, optimised
"$PY" - "$work/shots" "$OUT" <<'PYEOF'
import sys
from pathlib import Path
from PIL import Image
src, out = Path(sys.argv[1]), Path(sys.argv[2])
for png in sorted(src.glob("*-*x*-*.png")):
    with Image.open(png) as img:
        img.convert("RGB").save(out / png.name, optimize=True)
    print(out / png.name)
PYEOF
