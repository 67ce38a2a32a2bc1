"""Save, load, predict: what a training run leaves so that another machine can predict, offline."""

from prefeat.pipeline.load import load_pipeline
from prefeat.pipeline.manifest import PipelineError, package_versions
from prefeat.pipeline.pipeline import SUBMISSION_COLUMNS, PreferencePipeline, submission_frame

__all__ = [
    "SUBMISSION_COLUMNS",
    "PipelineError",
    "PreferencePipeline",
    "load_pipeline",
    "package_versions",
    "submission_frame",
]
