"""The study: fold, tune, fit out of fold, stack, explain and report, from one :class:`StudyConfig`."""

from prefeat.study.config import StudyConfig
from prefeat.study.run import run_study

__all__ = ["StudyConfig", "run_study"]
