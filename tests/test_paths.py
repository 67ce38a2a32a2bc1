"""make_once: a folder made once, whole, however many processes ask at once, and remade when a crash cut it short."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prefeat.paths import is_temporary_of, make_once

REPO = Path(__file__).resolve().parents[1]

# a process that says it is ready, waits for the `go` file, then asks for the folder with a slow builder that
# logs each build
RACER = """
import os, sys, time
from pathlib import Path
from paths import make_once  # prefeat/paths.py alone: importing prefeat takes seconds

target, go, log, ready = map(Path, sys.argv[1:5])
ready.touch()
while not go.exists():
    time.sleep(0.005)

def build(folder):
    with open(log, "a") as stream:
        stream.write(f"{os.getpid()}\\n")
    (folder / "part1").write_text("one")
    time.sleep(0.5)  # long enough that every other process finds the folder missing
    (folder / "part2").write_text("two")

made = make_once(target, build, complete=lambda f: (f / "part1").is_file() and (f / "part2").is_file())
print(made, sorted(p.name for p in made.iterdir()))
"""


def env():
    return os.environ | {"PYTHONPATH": str(REPO / "prefeat")}


def start_together(script: str, args_per_process, go: Path, timeout: float = 300):
    """Run ``script`` in one process per argument list (the last argument: a file it makes when it is ready), and
    let them all go at once; their outputs."""
    processes = [
        subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE, text=True, env=env())
        for args in args_per_process
    ]
    deadline = time.monotonic() + timeout
    while not all(Path(args[-1]).exists() for args in args_per_process):  # every interpreter started
        assert time.monotonic() < deadline and all(process.poll() is None for process in processes)
        time.sleep(0.05)
    go.touch()
    outputs = [process.communicate(timeout=timeout)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * len(processes), outputs
    return outputs


def complete(folder):
    return (folder / "part1").is_file() and (folder / "part2").is_file()


def test_four_processes_at_once_build_the_folder_once_and_all_get_it_whole(tmp_path):
    target, go, log = tmp_path / "cache" / "thing", tmp_path / "go", tmp_path / "builds.log"
    outputs = start_together(RACER, [(target, go, log, tmp_path / f"ready{i}") for i in range(4)], go)
    assert len(log.read_text().split()) == 1  # one build; the others waited for it
    assert set(outputs) == {f"{target} ['part1', 'part2']\n"}
    assert sorted(p.name for p in target.parent.iterdir()) == [".thing.lock", "thing"]  # no temporary folder left


def test_an_empty_or_partial_folder_left_by_a_crash_is_remade(tmp_path):
    target = tmp_path / "thing"
    builds = []

    def build(folder):
        builds.append(folder)
        (folder / "part1").write_text("one")
        (folder / "part2").write_text("two")

    target.mkdir()  # empty, as a crash between mkdir and the write leaves it
    assert make_once(target, build, complete) == target and complete(target)
    (tmp_path / "plain").mkdir()
    assert target.stat().st_mode == (tmp_path / "plain").stat().st_mode  # not private, unlike tempfile.mkdtemp's
    (target / "part2").unlink()  # partial
    (target / "stray").write_text("from the half-made folder")
    make_once(target, build, complete)
    assert complete(target) and not (target / "stray").exists()
    make_once(target, build, complete)  # whole: kept
    assert len(builds) == 2
    assert all(not folder.exists() for folder in builds)  # built under temporary names, then renamed


def test_a_failed_build_leaves_nothing_and_a_crashed_one_is_cleaned_up(tmp_path):
    target = tmp_path / "thing"

    def failing(folder):
        (folder / "part1").write_text("one")
        raise ValueError("no space left")

    with pytest.raises(ValueError, match="no space"):
        make_once(target, failing, complete)
    with pytest.raises(RuntimeError, match="incomplete"):
        make_once(target, lambda folder: (folder / "part1").write_text("one"), complete)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".thing.lock"]
    crashed = tmp_path / ".thing.0a1b2c3d.tmp"  # a process killed while building leaves its temporary folder
    crashed.mkdir()
    other = tmp_path / ".thing.b.abcd1234.tmp"  # the temporary folder of another target ("thing.b"): not ours
    other.mkdir()
    make_once(target, lambda folder: [(folder / n).write_text(n) for n in ("part1", "part2")], complete)
    assert complete(target) and not crashed.exists() and other.exists()
    assert is_temporary_of(crashed.name, "thing") and not is_temporary_of(other.name, "thing")


KILLED = """
import os, sys
from pathlib import Path
from paths import make_once

def build(folder):
    (folder / "part1").write_text("one")
    os._exit(9)  # killed mid-build, holding the lock

make_once(Path(sys.argv[1]), build, complete=lambda f: (f / "part2").is_file())
"""


def test_a_process_killed_while_building_neither_blocks_nor_leaves_a_half_folder(tmp_path):
    target = tmp_path / "thing"
    killed = subprocess.run([sys.executable, "-c", KILLED, str(target)], env=env(), timeout=120)
    assert killed.returncode == 9
    assert not target.exists()  # the half-made folder never got the name
    started = time.perf_counter()
    make_once(target, lambda folder: [(folder / n).write_text(n) for n in ("part1", "part2")], complete)
    assert complete(target) and time.perf_counter() - started < 5  # the dead process's lock was released
    assert json.dumps(sorted(p.name for p in tmp_path.iterdir())) == '[".thing.lock", "thing"]'


def test_a_pipelines_static_model_is_copied_whole_into_the_cache(tmp_path):
    from prefeat.features.families import embedding
    from prefeat.features.settings import FeaturizerSettings
    from prefeat.pipeline.load import provide_embedding_model

    shipped = tmp_path / "pipeline" / "embedding"
    shipped.mkdir(parents=True)
    for name in embedding.STATIC_MODEL_FILES:
        (shipped / name).write_text(name)
    settings = FeaturizerSettings(families=["length", "embedding"], embedding_model=embedding.STATIC_MODEL)
    target = embedding.static_model_folder(tmp_path / "cache")
    target.mkdir(parents=True)
    (target / "model.safetensors").write_text("model.safetensors")  # a copy cut short
    provide_embedding_model(tmp_path / "pipeline", settings, tmp_path / "cache")
    assert embedding.static_model_complete(target)


def test_a_fit_cache_entry_is_written_once_and_a_half_written_one_is_remade(tmp_path):
    import numpy as np

    from prefeat.study.fitcache import FitCache
    from prefeat.study.oof import CVResult

    class Model:
        saves = 0

        def save(self, folder):
            Model.saves += 1
            folder.mkdir()
            (folder / "m.json").write_text("{}")

    cache, cv = FitCache(tmp_path), CVResult(oof=np.full((3, 3), 1 / 3), fold_losses=[1.0], fit_seconds=0.1)
    half = tmp_path / "fits" / "key"
    half.mkdir(parents=True)
    (half / "meta.json").write_text("{")  # cut short, no `done`
    cache.save("key", cv, Model(), 0.2)
    assert sorted(p.name for p in half.iterdir()) == ["done", "meta.json", "model", "proba.npz"]
    assert json.loads((half / "meta.json").read_text())["refit_seconds"] == 0.2
    cache.save("key", cv, Model(), 0.2)  # a second run with the same key: the entry is kept, not rewritten
    assert Model.saves == 1


def test_a_side_cache_shard_cut_short_under_its_temporary_name_is_never_read(tmp_path):
    import numpy as np

    from prefeat.features.sidecache import SideCache

    SideCache(tmp_path, "family").put(["h1"], np.ones((1, 2)))
    (tmp_path / "family" / ".0123abcd.4242.tmp.npz").write_bytes(b"PK\x03\x04 cut short")  # a crashed writer's
    reader = SideCache(tmp_path, "family")
    assert reader.missing(["h1", "h2"]) == ["h2"]
    np.testing.assert_array_equal(reader.get(["h1"]), np.ones((1, 2)))
