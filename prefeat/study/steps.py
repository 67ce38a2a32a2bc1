"""The study's progress lines and the timings of its parts."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

TOTAL_STEPS = 9


class Steps:
    """Prints ``[k/N] what`` with the time the study has run, and times named parts into ``timings.json``."""

    def __init__(self, total: int):
        self.total, self.started = total, time.perf_counter()
        self.records: list[dict] = []

    def say(self, step: int, what: str, left: float | None = None) -> None:
        """Print the step with the study's elapsed time and, when given, the seconds this part has left."""
        elapsed = time.perf_counter() - self.started
        estimate = "" if left is None else f", about {left / 60:.1f} min left in this part"
        print(f"[{step}/{self.total}] {what} (study running {elapsed / 60:.1f} min{estimate})", flush=True)

    @contextmanager
    def timed(self, part: str):
        """Record wall seconds of ``part``, with wall-clock start and end (for a memory sampler to align)."""
        start, started = time.time(), time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.records.append({"part": part, "seconds": seconds, "start": start, "end": time.time()})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.records, indent=2))
