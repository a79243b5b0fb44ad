"""``python -m benchmarks NAME``: import ``benchmarks.NAME`` and call its ``main()``.

Each benchmark generates its own data, measures against a baseline in the same
run (these machines are noisy) and prints ``key: value`` lines.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not argv or argv[0] not in names:
        given = f"未知的基准测试“{argv[0]}”。" if argv else ""
        print(f"{given}用法：python -m benchmarks 名称 [参数]\n可用的基准测试：{'、'.join(names)}", file=sys.stderr)
        return 2
    name = argv.pop(0)
    sys.argv = [f"benchmarks.{name}", *argv]
    result = importlib.import_module(f"benchmarks.{name}").main()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
