"""Scheduled reports: run notebooks headlessly with papermill and publish a verifiable run directory.

    result = run_report("all", engine="local", start="2026-10-22T00:00:00Z", end="2026-10-29T00:00:00Z",
                        out_dir="reports/", fail_on="high")
    sys.exit(result.exit_code)

A run is a sequence of steps, one module each, each testable on its own:

- `plan`: which notebooks, with which parameters, all checked before anything runs;
- `prepare`: the local store brought up to date once, and handed to every notebook;
- `execute`: each notebook run by papermill in its own worker process, rendered there (`render`);
- `collect`: results, findings (deduplicated) and queries read back from the executed notebooks,
  where `trailbook.notebook.show_findings` / `show_evidence` put them under trailbook's MIME types;
- `render_index`: the run's index page; `manifest`: the run's record;
- `publish`: hashes, and the rename of the hidden `.partial` folder to the dated name.

A run writes `out_dir/<YYYY-MM-DDTHHMMZ>/` (a suffix -2, -3… if that minute is taken) with,
for each notebook, the executed `.ipynb` (papermill's metadata kept) and a self-contained
`.html` (code hidden, plots inline, nothing loaded from the network); `findings.jsonl` and
`findings.csv` (every finding, shared columns, plus `report`); `index.html`;
`manifest.json` (version, catalog revision and hash, parameters, every query as run with
its statistics, times, SHA-256 of every file); and `SHA256SUMS` (`sha256sum -c` format,
covering manifest.json too).
"""

from __future__ import annotations

from ..errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_NO_DATA, EXIT_OK, EXIT_USAGE
from .collect import NotebookResult
from .execute import execute_notebook
from .plan import NotebookPlan, ReportPlan, ReportUsageError, plan_report
from .publish import catalog_revision, iter_runs, sha256_file, verify_run
from .run import ReportResult, run_report

__all__ = [
    "EXIT_FAILED", "EXIT_FINDINGS", "EXIT_NO_DATA", "EXIT_OK", "EXIT_USAGE", "NotebookPlan", "NotebookResult",
    "ReportPlan", "ReportResult", "ReportUsageError", "catalog_revision", "execute_notebook", "iter_runs",
    "plan_report", "run_report", "sha256_file", "verify_run",
]
