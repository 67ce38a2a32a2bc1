"""How many cores prefeat works on: one setting, ``n_jobs``, read by every part that starts threads or processes.

``n_jobs`` is -1 (or None) for every core this process may use, a positive count, or ``-k`` for all
cores but ``k - 1`` (joblib's convention). "Every core this process may use" is the smallest of the
CPU affinity mask and the CPU quota of the cgroup (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``) that a
container sets, and at least 1: ``os.cpu_count()`` counts the host's cores, which oversubscribes a
4-core container on a 64-core host.

:func:`limited_threads` is the one place a count takes effect: inside it, every part whose own
``n_jobs`` is None (the boosters and linear models, the featurizer's text-family processes and Dask
LocalCluster, the embedding model's torch threads) uses the count given, and the OpenMP and BLAS
pools that are loaded (scikit-learn's HistGradientBoosting and k-means, numpy and scipy) are sized to
it. The study, a tuning worker and a loaded pipeline each run inside one. The thread count changes no
number: every model predicts the same bit for bit on 1 and 2 threads (tests/test_threads.py).
"""

from __future__ import annotations

import math
import os
import sys
from contextlib import contextmanager
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
_current: int | None = None  # the count of the innermost limited_threads(), None outside any


def cgroup_cpu_limit(root: Path = CGROUP) -> float | None:
    """The CPU quota of this process's cgroup in cores (``quota / period``), or None when there is none."""
    candidates = [(root / "cpu.max", None)]  # v2: "max 100000" or "200000 100000"
    for folder in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):  # v1: the quota and period in two files
        candidates.append((root / folder / "cpu.cfs_quota_us", root / folder / "cpu.cfs_period_us"))
    for quota_path, period_path in candidates:
        try:
            if period_path is None:
                quota, period = quota_path.read_text().split()[:2]
            else:
                quota, period = quota_path.read_text().strip(), period_path.read_text().strip()
        except (OSError, ValueError):
            continue
        if quota in ("max", "-1") or float(period) <= 0:
            return None
        return float(quota) / float(period)
    return None


def available_cores(root: Path = CGROUP) -> int:
    """The cores this process may use: its CPU affinity, capped by its cgroup's CPU quota; at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit(root)
    if limit is not None:
        cores = min(cores, math.ceil(limit))
    return max(cores, 1)


def resolve_n_jobs(n_jobs: int | None = None) -> int:
    """A count of threads or processes: ``n_jobs`` as given when positive; None is the innermost
    :func:`limited_threads`'s count, else every available core; ``-1`` every available core, ``-k``
    all but ``k - 1`` of them."""
    if n_jobs is None:
        n_jobs = _current if _current is not None else -1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs=0 runs nothing: give a positive count, or -1 for every core")
    return n_jobs if n_jobs > 0 else max(available_cores() + 1 + n_jobs, 1)


@contextmanager
def limited_threads(n_jobs: int | None = None):
    """Run the block on ``n_jobs`` cores (see :func:`resolve_n_jobs`): parts whose own ``n_jobs`` is None
    use this count, and the loaded OpenMP and BLAS pools and torch's threads are sized to it; all is
    restored after. Yields the count."""
    global _current
    from threadpoolctl import threadpool_limits

    count = resolve_n_jobs(n_jobs)
    previous, _current = _current, count
    torch = sys.modules.get("torch")  # not imported here: only sized when something already uses it
    torch_threads = torch.get_num_threads() if torch is not None else None
    try:
        with threadpool_limits(limits=count):
            if torch is not None:
                torch.set_num_threads(count)
            yield count
    finally:
        _current = previous
        torch = sys.modules.get("torch")  # perhaps imported in the block: back to the outer count
        if torch is not None:
            torch.set_num_threads(torch_threads if torch_threads is not None else resolve_n_jobs())


def size_torch() -> None:
    """Size torch's threads to the current :func:`limited_threads` count, for code that may have imported
    torch inside one; outside any, torch keeps its own count (a Dask worker's ``OMP_NUM_THREADS``)."""
    torch = sys.modules.get("torch")
    if torch is not None and _current is not None:
        torch.set_num_threads(_current)
