"""`make setup`'s last step: install the real zh→en Argos model if it can, else say how.

Never fails the set-up: offline machines (CI) go on with synthetic models for tests.
"""

from __future__ import annotations

import sys

from zhen.engines.argos import DEFAULT_PACKAGE_NAME, install_package
from zhen.engines.registry import installed_models
from zhen.errors import ZhenError


def main() -> int:
    real = [p for p in installed_models() if not p.synthetic]
    if real:
        print(f"zh→en model already installed: {real[0].name} {real[0].version}")
        return 0
    print(f"trying to install the zh→en model {DEFAULT_PACKAGE_NAME} from the argospm index…")
    try:
        pkg = install_package(DEFAULT_PACKAGE_NAME)
    except ZhenError as exc:
        print(
            f"could not install the real model ({exc}).\n"
            "  zhen works offline once a model is installed. On a machine with network run\n"
            f"  `zhen model install {DEFAULT_PACKAGE_NAME}`, or copy a "
            f"{DEFAULT_PACKAGE_NAME}-*.argosmodel file here\n"
            "  and run `zhen model install FILE.argosmodel`. Tests do not need it: they build\n"
            "  synthetic models (`zhen model synth`).",
            file=sys.stderr,
        )
        return 0
    print(f"installed {pkg.name} {pkg.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
