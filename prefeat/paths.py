"""Where prefeat keeps what it computes once (``$PREFEAT_CACHE``, else ``~/.cache/prefeat``), and how a
folder there is made: once and atomically, however many processes ask for it at the same time.


:func:`make_once` builds a folder under a temporary name beside it and renames it into place, so the
folder's name never shows a half-made folder; a lock file beside it lets one process build while
the others wait and then use its result. A folder that is there but fails the ``complete`` check
(an older prefeat's, or one copied or written in place and cut short) is removed and made again,
as are the temporary folders of builds that crashed. The lock is an ``flock`` (``msvcrt`` on
Windows), which the system releases when its process dies, so a crash never leaves it held.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """Hold an exclusive lock on the file ``path`` (created if missing; never removed) while in the block."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)  # retries for 10 s, then raises
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                os.lseek(descriptor, 0, os.SEEK_SET)
                msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _sync_files(folder: Path) -> None:
    """Flush the folder's files to disk, so that a folder renamed into place survives a machine crash whole."""
    for path in folder.rglob("*"):
        if path.is_file():
            with contextlib.suppress(OSError), open(path, "rb+") as stream:
                os.fsync(stream.fileno())


def is_temporary_of(name: str, target_name: str) -> bool:
    """Whether ``name`` is a temporary folder of ``make_once`` for ``target_name`` (``.<target>.<8 chars>.tmp``)."""
    prefix = f".{target_name}."
    middle = name[len(prefix) : -len(TEMPORARY_SUFFIX)]
    return name.startswith(prefix) and name.endswith(TEMPORARY_SUFFIX) and len(middle) == 8 and "." not in middle


def new_temporary_folder(target: Path) -> Path:
    """An empty folder beside ``target``, with the usual permissions (``tempfile.mkdtemp`` makes it private)."""
    while True:
        folder = target.parent / f".{target.name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def make_once(target, build: Callable[[Path], object], complete: Callable[[Path], bool] | None = None) -> Path:
    """The folder ``target``, made by ``build(folder)`` into an empty temporary folder when it is missing or incomplete.

    ``complete(folder)`` says whether a folder is whole (by default: it exists, since only the
    rename makes it); it is also checked on the built folder before the rename. A complete
    ``target`` is never removed or rewritten, so readers need no lock.
    """
    target = Path(target)
    complete = complete or Path.exists
    if complete(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(
            f"prefeat cannot make {target.parent} ({error}): set PREFEAT_CACHE to a folder you can write"
        ) from error
    with exclusive_lock(target.parent / f".{target.name}.lock"):
        if complete(target):  # made by another process while this one waited
            return target
        if target.exists() or target.is_symlink():
            _remove(target)  # half-made: remake it
        for (
            leftover
        ) in target.parent.iterdir():  # temporary folders of builds that crashed (only the lock holder builds)
            if is_temporary_of(leftover.name, target.name):
                _remove(leftover)
        temporary = new_temporary_folder(target)
        try:
            build(temporary)
            if not complete(temporary):
                raise RuntimeError(f"building {target} left it incomplete")
            _sync_files(temporary)
            os.replace(temporary, target)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return target


def default_cache_dir() -> Path:
    return Path(os.environ.get("PREFEAT_CACHE", Path.home() / ".cache" / "prefeat"))


def cache_root(cache_dir):
    """The cache folder a ``cache_dir`` option names: None is the default folder, False no cache."""
    return None if cache_dir is False else (cache_dir or default_cache_dir())
