"""Saved models: one directory per model under `REVGUARD_HOME/models/`, and the run ledger.

`<home>/models/<name>/estimator.joblib` holds the fitted object and `metadata.json` beside it
what an analyst or an auditor asks of it: version, training range, metrics, and the versions
of the libraries that pickled it. A pickle is only trusted by the library versions that wrote
it, so `load_model` reads the metadata first and refuses another set of versions with one line
(`ModelVersionError`) before unpickling anything; `revguard score --retrain` fits it again.
Every fit or scoring run is a row of `revguard.model_runs` (`record_run`).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata as distributions
from pathlib import Path
from typing import Any

import joblib

# The libraries whose objects end up inside a pickled estimator.
PICKLE_LIBRARIES = ("scikit-learn", "numpy", "scipy", "joblib", "pandas")
ESTIMATOR_FILE = "estimator.joblib"
METADATA_FILE = "metadata.json"

_INSERT_COLUMNS = ("run_id", "model", "model_version", "trained_from", "trained_to", "scored_from",
                   "scored_to", "rows_scored", "metrics", "library_versions", "started_at", "finished_at")


class ModelError(Exception):
    """A saved model that cannot be used as it is; the message is one line."""


class ModelVersionError(ModelError):
    """The model was saved by other library versions than the ones running: retrain it."""


class ModelMissing(ModelError):
    """No model of that name is saved."""


@dataclass(frozen=True)
class ModelRun:
    """One row of `revguard.model_runs`: a fit or a scoring run of one model."""

    run_id: str
    model: str
    model_version: str
    trained_from: datetime | None
    trained_to: datetime | None
    scored_from: datetime | None
    scored_to: datetime | None
    rows_scored: int
    metrics: dict[str, Any]
    library_versions: dict[str, str]
    started_at: datetime
    finished_at: datetime


def library_versions() -> dict[str, str]:
    """The running versions of the pickling libraries, and Python's."""
    found = {name: distributions.version(name) for name in PICKLE_LIBRARIES}
    found["python"] = "{}.{}".format(*sys.version_info[:2])
    return found


def models_dir(home: Path) -> Path:
    return Path(home) / "models"


def save_model(home: Path, name: str, estimator: object, metadata: dict) -> Path:
    """Save `estimator` as model `name` with `metadata` (the running library versions are
    added); the model's directory. The estimator file is written before the metadata, and
    both by rename, so a reader never sees metadata describing another estimator."""
    _check_name(name)
    directory = models_dir(home) / name
    directory.mkdir(parents=True, exist_ok=True)
    document = {**metadata, "name": name, "library_versions": library_versions(),
                "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    partial = directory / (ESTIMATOR_FILE + ".partial")
    joblib.dump(estimator, partial)
    partial.replace(directory / ESTIMATOR_FILE)
    partial = directory / (METADATA_FILE + ".partial")
    partial.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    partial.replace(directory / METADATA_FILE)
    return directory


def load_model(home: Path, name: str) -> tuple[object, dict]:
    """Model `name` and its metadata. Raises ModelMissing when none is saved and
    ModelVersionError when it was saved by other library versions."""
    _check_name(name)
    directory = models_dir(home) / name
    meta_path = directory / METADATA_FILE
    if not meta_path.is_file() or not (directory / ESTIMATOR_FILE).is_file():
        raise ModelMissing(f"no saved model {name!r} in {models_dir(home)}")
    document = json.loads(meta_path.read_text(encoding="utf-8"))
    saved = document.get("library_versions") or {}
    running = library_versions()
    differing = [f"{lib} {saved.get(lib, '?')} (running {running[lib]})"
                 for lib in sorted(running) if saved.get(lib) != running[lib]]
    if differing:
        raise ModelVersionError(
            f"model {name!r} in {directory} was saved with {', '.join(differing)}: "
            "run `revguard score --retrain` to fit it again")
    return joblib.load(directory / ESTIMATOR_FILE), document


def record_run(client: Any, run: ModelRun) -> None:
    """Append `run` to `revguard.model_runs`."""
    row = [run.run_id, run.model, run.model_version, _utc(run.trained_from), _utc(run.trained_to),
           _utc(run.scored_from), _utc(run.scored_to), int(run.rows_scored),
           json.dumps(run.metrics, sort_keys=True, default=str),
           json.dumps(run.library_versions, sort_keys=True), _utc(run.started_at), _utc(run.finished_at)]
    client.insert("revguard.model_runs", [row], column_names=list(_INSERT_COLUMNS))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"a model name is letters, digits, '_' and '-', not {name!r}")
