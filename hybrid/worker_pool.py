"""The one process pool of print, scan and simulate, with an in-process mode for one worker.

A caller may rely on:
- `worker_pool(workers, initializer, initargs)` yields an `Executor`. With more than one
  worker it is a pool of processes started by forkserver (never a copy of a parent that
  holds threads and locks: a fork can deadlock inside OpenCV); each worker ignores Ctrl-C
  (the parent decides when to stop) and runs `initializer(*initargs)` once.
- With one worker (or fewer) the jobs run in the caller's own process, one at a time, when
  their result is first asked for (so a progress bar moves with them): no process is
  started, `initializer` runs once in the caller, and Ctrl-C interrupts the running job.
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


class _Deferred(Future):
    """A job of the in-process executor: it runs when its result is first asked for."""

    def __init__(self, job: Callable[[], Any]) -> None:
        super().__init__()
        self._job: Callable[[], Any] | None = job

    def _run(self) -> None:
        job, self._job = self._job, None
        if job is None:
            return
        try:
            self.set_result(job())
        except Exception as exc:  # Ctrl-C and SystemExit are not a job's result: they stop the caller
            self.set_exception(exc)

    def result(self, timeout: float | None = None) -> Any:
        self._run()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._run()
        return super().exception(timeout)


class InProcessExecutor(Executor):
    """Runs each job in this process when its result is asked for; `map` yields as it goes."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return _Deferred(lambda: fn(*args, **kwargs))

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
