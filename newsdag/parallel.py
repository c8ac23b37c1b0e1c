"""Pure per-item work (parsing files, resolving a day's actors) over forked worker processes.

The steps that call it run single-threaded in one process; on a machine with several cores the
rest sit idle while, say, 20k files are parsed. Workers are forked (they inherit the imported code
and the function's arguments), items and results travel pickled, and the output keeps input order, so
a parallel run gives exactly what a serial one gives.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


_background: list[threading.Thread] = []


def in_background(fn: Callable[[], None], name: str) -> None:
    """Run `fn` in a daemon thread (work to get ahead of, e.g. loading a model while waiting on something)."""
    thread = threading.Thread(target=fn, name=name, daemon=True)
    _background.append(thread)
    thread.start()


def join_background() -> None:
    """Wait for the background threads. Call before forking: a thread caught holding a lock (an import's,
    say) would leave the child a copy of that lock that nobody will ever release."""
    while _background:
        _background.pop().join()


def _worker_init() -> None:
    # Workers inherit the parent's signal handlers (Dagster's turn SIGTERM into an exception with a
    # traceback on stderr): stopping a worker should just stop it, and Ctrl-C is the parent's to handle.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def can_fork() -> bool:
    """Whether this process may start worker processes: not when it is itself a daemonic worker (a Celery
    prefork worker is one: multiprocessing refuses, "daemonic processes are not allowed to have children").
    Callers then work serially; Celery spreads work over its own worker processes."""
    return not multiprocessing.current_process().daemon


def fork_context() -> multiprocessing.context.BaseContext:
    """multiprocessing's "fork" context, once the background threads have finished: every fork goes
    through here (see join_background)."""
    join_background()
    return multiprocessing.get_context("fork")


@contextlib.contextmanager
def forked_pool(n_process: int) -> Iterator[multiprocessing.pool.Pool]:
    """A pool of `n_process` forked workers (after the background threads finish); on success the workers
    finish their queue and exit, on error (or interrupt) they are terminated."""
    pool = fork_context().Pool(n_process, initializer=_worker_init)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


_fn: Callable | None = None  # the function the forked workers call (inherited, never pickled)


def _call(item):
    return _fn(item)


def map_ordered(fn: Callable[[T], R], items: Sequence[T], n_process: int, min_items: int) -> list[R]:
    """[fn(x) for x in items], in `n_process` forked workers when there are at least `min_items` items
    (below that, starting workers costs more than it saves). Workers inherit `fn` by forking, so it may
    be any callable; items and results must pickle."""
    global _fn
    if n_process <= 1 or len(items) < max(2, min_items) or not can_fork():
        return [fn(x) for x in items]
    n_process = min(n_process, len(items))
    chunksize = max(1, len(items) // (n_process * 8))
    _fn = fn
    try:
        with forked_pool(n_process) as pool:
            return pool.map(_call, items, chunksize=chunksize)
    finally:
        _fn = None
