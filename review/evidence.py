"""The pictures of review items, cut on demand and kept under `scans/crops/`.

Every page hybrid read is kept as a content-addressed copy under `scans/` (DESIGN §2).
When the review page first asks for a page's picture (planned by
`hybrid.review.evidence_plan`), `render` has it cut from that copy by the `DrawEvidence`
the door handed in (the reader's `ocr.evidence_picture.draw`) and keeps it under
`scans/crops/` (named like the reader's crops, so `purge` deletes it with them). A
`Prerenderer` cuts them before anyone asks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from hybrid.layout import Layout
from hybrid.review.evidence_plan import DrawEvidence, NoEvidence, Plan, plan  # noqa: F401 - the review page's names

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def render(root: Path, archived: str | None, source: str, plan_: Plan, layouts: Mapping[str, Layout],
           draw: DrawEvidence) -> Path:
    """The picture of `plan_`, from the cache under scans/crops/ or cut now by `draw` from
    the archived input `archived` (relative to `root`). Raises NoEvidence when the copy is gone."""
    root = Path(root)
    target = root / "scans" / "crops" / plan_.name
    if target.is_file():
        return target
    if not archived:
        raise NoEvidence(f"{source}: no archived copy of the scan (purged?)")
    path = (root / archived).resolve()
    if not path.is_relative_to((root / "scans").resolve()) or not path.is_file():
        raise NoEvidence(f"{source}: the archived copy {archived} is missing")
    with _lock_for(plan_.name):
        if target.is_file():
            return target
        data = draw(path, int(source.rpartition("#p")[2]), plan_, layouts)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)  # readers never see half a file
    return target


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class Prerenderer:
    """Renders pictures before anyone asks, in one background thread, so an item opens with
    its image at once: first the items right after the one a reviewer opened (they work
    down the queue), then every open item in queue order. `job(item_id)` renders the
    pictures of one item; a failing job is skipped (the page renders on demand anyway)."""

    def __init__(self, job) -> None:
        import collections

        self._job = job
        self._urgent: collections.deque[str] = collections.deque()
        self._backlog: collections.deque[str] = collections.deque()
        self._done: set[str] = set()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="evidence-prerender", daemon=True)

    def start(self, backlog) -> None:
        with self._wake:
            self._backlog.extend(backlog)
        self._thread.start()

    def soon(self, item_ids) -> None:
        with self._wake:
            for item_id in reversed(list(item_ids)):
                if item_id not in self._done:
                    self._urgent.appendleft(item_id)
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(5)

    def _next(self) -> str | None:
        with self._wake:
            while not self._stopped and not self._urgent and not self._backlog:
                self._wake.wait()
            if self._stopped:
                return None
            return (self._urgent or self._backlog).popleft()

    def _run(self) -> None:
        while (item_id := self._next()) is not None:
            if item_id in self._done:
                continue
            try:
                self._job(item_id)
            except Exception:  # noqa: BLE001 - best effort: the page renders on demand
                pass
            self._done.add(item_id)
