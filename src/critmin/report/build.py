"""``build_report``: compute the results, write the HTML report and its results folder."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

import yaml
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from critmin.errors import InputError
from critmin.report.config import ReportConfig
from critmin.report.document import render_html
from critmin.report.results import STEPS, TABLE_SOURCES, ReportResults, compute


def results_folder(out: Path) -> Path:
    """Where the numbers of ``out`` go: ``report.html`` -> ``report_results/``."""
    return out.with_name(f"{out.stem}_results")


def _write_atomic(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.chmod(temporary, 0o644)  # mkstemp creates 0600; a report is meant to be shared
    os.replace(temporary, path)


def write_results(results: ReportResults, folder: Path) -> dict[str, object]:
    """Every table as CSV and JSON, what each engine ran (``inputs/*.yaml``, in the engines'
    file formats), and ``manifest.json`` with settings, versions, hashes and the sections that
    could not be computed, with the reason."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, object]] = {}
    for name, table in results.tables.items():
        for suffix, payload in (
            ("csv", table.to_csv(index=False, lineterminator="\n").encode()),
            ("json", table.to_json(orient="records", indent=1, double_precision=15).encode()),
        ):
            path = folder / f"{name}.{suffix}"
            _write_atomic(path, payload)
            files[path.name] = {"rows": len(table), "sha256": hashlib.sha256(payload).hexdigest()}
    inputs: dict[str, dict[str, object]] = {}
    if results.inputs():
        (folder / "inputs").mkdir(exist_ok=True)
    for name, spec in results.inputs().items():
        payload = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True).encode()
        _write_atomic(folder / "inputs" / name, payload)
        inputs[f"inputs/{name}"] = {"sha256": hashlib.sha256(payload).hexdigest()}
    manifest: dict[str, object] = {
        "critmin_version": version("critmin"),
        "data_version": results.data_version,
        "settings": json.loads(results.config.model_dump_json()),
        "members": list(results.members),
        "sections_not_computed": {k: v for k, v in results.sections().items() if v},
        "files": files,
        "inputs": inputs,
        "table_sources": {name: TABLE_SOURCES[name] for name in results.tables},
    }
    _write_atomic(folder / "manifest.json", json.dumps(manifest, indent=2).encode())
    return manifest


def build_report(config: ReportConfig, out: Path, quiet: bool = False) -> ReportResults:
    """Compute every section, then write ``out`` (HTML) and its results folder."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {out}: the report is an HTML file (give a name ending in .html)")
    if not out.parent.exists():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, transient=True, disable=quiet) as progress:
        task = progress.add_task("computing", total=len(STEPS) + 2)
        started: list[str] = []

        def step(name: str) -> None:
            progress.update(task, completed=len(started), description=f"computing {name}")
            started.append(name)

        results = compute(config, step)
        progress.update(task, completed=len(STEPS), description="writing the results folder")
        write_results(results, results_folder(out))
        progress.update(task, advance=1, description="rendering the HTML report")
        _write_atomic(out, render_html(results).encode("utf-8"))
        progress.update(task, advance=1)
    return results
