"""The study's settings: one object that every step reads, and how the report names them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from prefeat.features.settings import FeaturizerSettings
from prefeat.models import DEFAULT_MODELS
from prefeat.study.tuning import DEFAULT_TIME_BUDGET, DEFAULT_TRIALS
from prefeat.threads import available_cores, resolve_n_jobs

# above twice this many battles, tuning runs on a grouped subsample of about this many, which the scores leave
# out; below, on two halves of the prompts that score each other (prefeat.study.plan.tuning_split). The final
# fits use every row.
TUNE_ROWS = 10_000


@dataclass
class StudyConfig:
    train: str
    out: str
    test: str | None = None
    features: FeaturizerSettings = field(default_factory=FeaturizerSettings)
    models: tuple[str, ...] = DEFAULT_MODELS
    trials: int = DEFAULT_TRIALS
    time_budget: float = DEFAULT_TIME_BUDGET
    seed: int = 0
    n_splits: int = 5
    symmetric: bool = True
    storage: str | None = None  # None: runs/optuna.db beside the run folder (prefeat.study.storage.default_storage)
    tune_rows: int | None = TUNE_ROWS  # None: tune on every row
    dask: str | None = None  # a Dask scheduler address, or "local", for featurizing
    cache_dir: str | None = None
    shap_rows: int = 1000
    show_progress: bool = True
    n_jobs: int = -1  # cores for every part (prefeat.threads): -1 all this machine gives the process

    def __post_init__(self):
        resolve_n_jobs(self.n_jobs)  # 0 is refused here, before any work

    def record(self) -> dict:
        """The settings for the report: file names rather than this machine's paths, no password."""
        values = asdict(self)
        values["train"] = Path(self.train).name
        values["test"] = self.test and Path(self.test).name
        values["storage"] = describe_storage(self.storage)
        values["features"] = self.features.to_dict()
        values["n_jobs"] = resolve_n_jobs(self.n_jobs)  # the count it ran on, -1 resolved
        values["cores_available"] = available_cores()
        for private in ("out", "cache_dir", "dask"):
            values.pop(private)
        return values


def describe_storage(url: str | None) -> str:
    if url is None:
        return "default (optuna.db beside the run folder)"
    if url.startswith("sqlite:///"):
        return f"sqlite:///{Path(url.removeprefix('sqlite:///')).name}"
    from sqlalchemy.engine import make_url

    return make_url(url).set(host="<host>").render_as_string(hide_password=True)
