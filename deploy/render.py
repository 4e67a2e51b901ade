#!/usr/bin/env python3
"""Fill in the variables of deploy/'s files for one installation.

    python3 deploy/render.py SITE_VARS OUTPUT_DIR

SITE_VARS holds NAME=value lines (see deploy/site.vars.example); every ${YUYUE_...} in the
templates below is replaced by its value, and the result written under OUTPUT_DIR with the same
relative path (deploy/nginx/yuyue.conf → OUTPUT_DIR/nginx/yuyue.conf). A variable a template uses
but SITE_VARS lacks is an error: nothing half-filled is written. Only the standard library, so it
runs with the system's python3 before the application is installed.
"""

import re
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
TEMPLATES = [
    "nginx/yuyue.conf",
    "systemd/yuyue-web@.service",
    "systemd/yuyue-worker@.service",
    "yuyue-manage",
]
PLACEHOLDER = re.compile(r"\$\{(YUYUE_[A-Z0-9_]+)\}")


def site_vars_read(path: Path) -> dict[str, str]:
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"YUYUE_[A-Z0-9_]+", name.strip()):
            raise SystemExit(f"{path}:{number}: not NAME=value: {line}")
        values[name.strip()] = value.strip()
    return values


def template_render(text: str, values: dict[str, str], name: str) -> str:
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise SystemExit(f"{name} needs {', '.join(missing)}: add to the site variables")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    values = site_vars_read(Path(argv[1]))
    out = Path(argv[2])
    rendered = {
        name: template_render((DEPLOY / name).read_text(encoding="utf-8"), values, name)
        for name in TEMPLATES
    }
    for name, text in rendered.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        target.chmod((DEPLOY / name).stat().st_mode & 0o777)
        print(target)


if __name__ == "__main__":
    main(sys.argv)
