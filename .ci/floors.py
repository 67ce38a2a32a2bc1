"""Pin every direct dependency of setup.cfg at its lower bound, for `make test-lowest`.

python .ci/floors.py [setup.cfg]            print pip constraints: one `name==floor` per requirement
python .ci/floors.py --check [setup.cfg]    compare the running interpreter's installed versions with them

Reads install_requires and every extra. `name>=X` becomes `name==X` (extras dropped, as pip's
constraints files want), `name==X` stays; a requirement without a lower bound is an error, so a new
dependency cannot skip the lowest-versions run. Standard library only: it runs before any install.
"""

from __future__ import annotations

import configparser
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(setup_cfg: Path) -> dict[str, str]:
    config = configparser.ConfigParser()
    config.read(setup_cfg)
    lines = config["options"]["install_requires"].splitlines()
    if config.has_section("options.extras_require"):
        for extra in config["options.extras_require"].values():
            lines += extra.splitlines()
    pins: dict[str, str] = {}
    for line in lines:
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT.match(line)
        if not match:
            raise SystemExit(f"cannot read requirement {line!r}")
        name, specifiers = normalize(match[1]), match[3]
        bound = re.search(r"(?:>=|==)\s*([^,\s]+)", specifiers)
        if not bound:
            raise SystemExit(f"{setup_cfg}: '{line}' has no lower bound (>=) or pin (==)")
        if pins.get(name, bound[1]) != bound[1]:
            raise SystemExit(f"{setup_cfg}: {name} has two floors, {pins[name]} and {bound[1]}")
        pins[name] = bound[1]
    return pins


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [arg for arg in argv if arg != "--check"]
    pins = floors(Path(args[0] if args else "setup.cfg"))
    if not check:
        print("\n".join(f"{name}=={floor}" for name, floor in pins.items()))
        return 0
    wrong = 0
    for name, floor in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "missing"
        # a local version label (torch's +cpu) is the same release
        same = installed.split("+", 1)[0] == floor
        wrong += not same
        print(f"{name:24} floor {floor:12} installed {installed}{'' if same else '   <- not the floor'}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
