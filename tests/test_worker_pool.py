"""The one process pool of print, scan and simulate (hybrid/worker_pool.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from hybrid.worker_pool import InProcessExecutor, worker_pool

_STARTED: list[str] = []


def _remember(tag: str) -> None:
    _STARTED.append(tag)


def _about_me(n: int) -> tuple[int, int, bool, tuple[str, ...]]:
    return n * n, os.getpid(), signal.getsignal(signal.SIGINT) == signal.SIG_IGN, tuple(_STARTED)


def _fails(n: int) -> int:
    raise ValueError(f"job {n} failed")


def _sleeps(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_one_worker_runs_every_job_here_in_order_and_starts_once() -> None:
    _STARTED.clear()
    with worker_pool(1, _remember, ("here",)) as pool:
        assert isinstance(pool, InProcessExecutor)
        results = list(pool.map(_about_me, range(5)))
    assert [r[0] for r in results] == [0, 1, 4, 9, 16]
    assert {r[1] for r in results} == {os.getpid()}
    assert not any(r[2] for r in results), "Ctrl-C still interrupts a job run in the caller's process"
    assert _STARTED == ["here"]
    assert signal.getsignal(signal.SIGINT) != signal.SIG_IGN


def test_one_worker_runs_a_job_when_its_result_is_asked_for() -> None:
    _STARTED.clear()
    with worker_pool(1) as pool:
        later = pool.submit(_remember, "second")
        sooner = pool.submit(_remember, "first")
        assert _STARTED == []
        sooner.result()
        later.result()
        later.result()
    assert _STARTED == ["first", "second"]


def test_one_worker_gives_a_jobs_error_through_its_future() -> None:
    with worker_pool(1) as pool:
        future = pool.submit(_fails, 3)
    with pytest.raises(ValueError, match="job 3 failed"):
        future.result()


def test_several_workers_are_other_processes_that_ignore_ctrl_c_and_start_with_the_initializer() -> None:
    with worker_pool(2, _remember, ("worker",)) as pool:
        results = list(pool.map(_about_me, range(6)))
    assert [r[0] for r in results] == [0, 1, 4, 9, 16, 25]
    assert os.getpid() not in {r[1] for r in results}
    assert all(r[2] for r in results)
    assert all(r[3] == ("worker",) for r in results)


def test_leaving_by_an_exception_stops_busy_workers_and_cancels_the_rest() -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with worker_pool(2) as pool:
            futures = [pool.submit(_sleeps, 60) for _ in range(6)]
            futures[0].running() or time.sleep(1.0)
            workers = list(pool._processes.values())
            raise KeyboardInterrupt
    assert time.monotonic() - started < 30, "the block waited for jobs nobody wants any more"
    for worker in workers:
        worker.join(10)
        assert not worker.is_alive()
    # cancelled, or failed with the pool they were in: none of them ran to its end
    assert not any(f.done() and not f.cancelled() and f.exception() is None for f in futures)
