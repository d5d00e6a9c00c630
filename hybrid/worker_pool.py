"""The one process pool of print, scan and simulate, with an in-process mode for one worker.

A caller may rely on:
- `worker_pool(workers, initializer, initargs)` yields an `Executor`. With more than one
  worker it is a pool of processes started by forkserver (never a copy of a parent that
  holds threads and locks: a fork can deadlock inside OpenCV); each worker ignores Ctrl-C
  (the parent decides when to stop) and runs `initializer(*initargs)` once.
- With one worker (or fewer) the jobs run in the caller's own process, one at a time, as
  they are submitted: no process is started, `initializer` runs once in the caller, and
  Ctrl-C interrupts the job that is running.
- Leaving the block normally waits for every job; leaving it by an exception (Ctrl-C
  included) cancels the jobs not yet started and stops the workers.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


class InProcessExecutor(Executor):
    """Runs each job when it is submitted, in this process; `map` yields as it goes."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # Ctrl-C and SystemExit are not a job's result: they stop the caller
            future.set_exception(exc)
        return future

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        return (fn(*args) for args in zip(*iterables))


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if initializer is not None:
        initializer(*initargs)


@contextmanager
def worker_pool(workers: int, initializer: Callable[..., None] | None = None,
                initargs: tuple = ()) -> Iterator[Executor]:
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        yield InProcessExecutor()
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=_start_worker, initargs=(initializer, initargs))
    try:
        yield pool
    except BaseException:
        workers = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:  # they ignore Ctrl-C: end the ones busy with a job nobody waits for
            if process.is_alive():
                process.terminate()
        raise
    pool.shutdown(wait=True)
