"""The report worker: `python -m trailbook.reports TASK.json` runs one notebook (see execute.py)."""

from __future__ import annotations

import sys

from .execute import worker_main

if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1]))
