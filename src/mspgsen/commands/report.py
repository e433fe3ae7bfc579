"""`mspgsen report`: one self-contained HTML page for a run, or a comparison of several."""
from __future__ import annotations

from pathlib import Path

from mspgsen.errors import UserError
from mspgsen.report.page import write_page
from mspgsen.report.run_record import read_run


def report(runs: list[str | Path], out: str | Path = "report.html", title: str | None = None,
           labels: dict[Path, str] | None = None, intro: str = "") -> Path:
    """Write the page for `runs` to `out`; a folder that is not a run is a clear error."""
    if not runs:
        raise UserError("name at least one run folder: mspgsen report RUN [RUN ...] --out report.html")
    missing = [str(run) for run in runs if not Path(run).is_dir()]
    if missing:
        raise UserError(f"not a run folder: {', '.join(missing)}")
    records = [read_run(run) for run in runs]
    if all("summary" in r.problems and "losses" in r.problems for r in records):
        raise UserError(f"{', '.join(map(str, runs))} hold(s) neither config.yaml nor stats.jsonl: not run folders.")
    if title is None:
        first = records[0]
        title = (f"{first.family} on {first.data.get('name', '?')}: {first.name}" if len(records) == 1
                 else f"{len(records)} runs")
    return write_page(records, Path(out), title, labels, intro)
