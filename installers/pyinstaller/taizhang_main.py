"""Entry point of the frozen desktop app: the same `taizhang` command as `desktop.cli:main`."""

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
