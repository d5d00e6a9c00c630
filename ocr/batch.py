"""The scan batch runner: owns the pool, the progress bar, the store writes and the accounting.

Pages stream from the inputs through a process pool (one OpenCV thread per worker,
workers ignore Ctrl-C) with a bounded number in flight, so memory stays flat however
large the batch. Each page is stored in its own transaction as soon as it is read;
a page already in the store is never read again, so re-running a batch is a no-op
and a batch killed half-way resumes without double counting.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from hybrid.definition import Process
from hybrid.layout import Layout
from hybrid.page_reading import BoxScore, PageKind, PageReading, ScannedPage
from hybrid.paper_records import PageOutcome, ingest_page
from hybrid.rules import BERLIN
from hybrid.states import PageState, Reason, RecordState
from hybrid.store import Store, now_utc, pages, records
from hybrid.worker_pool import worker_pool
from hybrid.workspace import Workspace
from ocr.letter_redaction import redact_letter_pages
from ocr.page_result import PageResult
from ocr.page_source import InputProblem, PageInput, discover, iter_pages, load_page_image, sha256_file

_LAYOUTS: dict[str, Layout] = {}


@dataclass
class ScanReport:
    batch: str
    received: date
    pages: Counter = field(default_factory=Counter)  # PageState → count, this run's pages and earlier ones
    page_reasons: Counter = field(default_factory=Counter)
    records: Counter = field(default_factory=Counter)  # RecordState → count, ballots touched by this batch
    record_reasons: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    new_pages: int = 0
    resumed_pages: int = 0
    envelopes: int | None = None
    ballots_found: int = 0

    @property
    def pages_in(self) -> int:
        return sum(self.pages.values())

    @property
    def needs_person(self) -> bool:
        return bool(self.records.get(RecordState.REVIEW) or self.pages.get(PageState.UNREADABLE)
                    or (self.envelopes is not None and self.envelopes != self.ballots_found))


def _worker_init(layouts_json: dict[str, str]) -> None:
    import cv2

    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract's own threads
    _LAYOUTS.clear()
    _LAYOUTS.update({h: Layout.from_json(text) for h, text in layouts_json.items()})


def _read(page: PageInput) -> tuple[PageInput, PageResult | None, str | None]:
    """Worker: one page → its reading, or the problem that stopped it."""
    from ocr.read_page import read_page

    if page.problem:
        return page, None, page.problem
    try:
        image = load_page_image(page)
    except InputProblem as exc:
        return page, None, str(exc)
    return _light(page), read_page(image, _LAYOUTS), None


def _light(page: PageInput) -> PageInput:
    """The page without its pixels, for the trip back to the parent."""
    return page.without_image()


def _scanned_page(page: PageInput, result: PageResult, batch: str, received: date, crops: Path) -> ScannedPage:
    source = f"scan:{page.sha256}#p{page.page_no}"
    review_crop = comment_crop = None
    stem = f"{page.sha256[:16]}-p{page.page_no}"
    if result.review_crop_png:
        review_crop = crops / f"{stem}-review.png"
        review_crop.write_bytes(result.review_crop_png)
    if result.comment_crop_png:
        comment_crop = crops / f"{stem}-comment.png"
        comment_crop.write_bytes(result.comment_crop_png)
    payload = result.payload
    reading = PageReading(
        geometry=result.geometry, comment_ink=result.comment_ink, comment_suggestion=result.comment_suggestion,
        comment_confidence=result.comment_confidence,
        ocr_text=result.ocr_text if result.kind is PageKind.UNREADABLE else None,
        review_crop=result.review_crop_region if review_crop else None,
        boxes=tuple(BoxScore(b.question, b.option, b.number, b.state, b.fill, b.ring_ink) for b in result.boxes),
    )
    return ScannedPage(
        source=source, input_sha256=page.sha256, page_no=page.page_no, batch=batch, received=received,
        kind=result.kind,
        process_id=payload.process_id if payload else None,
        layout_hash=payload.layout_hash if payload else result.layout_hash,
        ballot_page=payload.page if payload else None,
        serial=payload.serial if payload else None,
        code=payload.code if payload else None,
        code_from_ocr=result.code_from_ocr,
        ocr_layout_id=result.ocr_layout_id,
        reasons=tuple(result.reasons),
        mark_signature=result.mark_signature,
        reading=reading,
        review_crop=str(review_crop.relative_to(crops.parent.parent)) if review_crop else None,
        comment_crop=str(comment_crop.relative_to(crops.parent.parent)) if comment_crop else None,
        message=result.message,
    )


def _problem_page(page: PageInput, problem: str, batch: str, received: date) -> ScannedPage:
    """A file or page that could not be read at all is still accounted for: rejected, with the message."""
    return ScannedPage(source=f"scan:{page.sha256}#p{page.page_no}", input_sha256=page.sha256,
                       page_no=page.page_no, batch=batch, received=received, kind=PageKind.FOREIGN,
                       message=problem)


def archive(ws: Workspace, path: Path, sha256: str, kind: str | None) -> Path:
    """Content-addressed copy under scans/ (kept until `purge`), named by what the file is."""
    ws.scans_dir.mkdir(parents=True, exist_ok=True)
    target = ws.scans_dir / f"{sha256}.{kind or 'bin'}"
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(path, partial)
        os.replace(partial, target)
    return target


def run_scan(
    ws: Workspace,
    store: Store,
    process: Process,
    paths: list[Path],
    batch: str | None = None,
    received: date | None = None,
    envelopes: int | None = None,
    progress: Callable[[int, int | None], None] = lambda done, total: None,
    workers: int | None = None,
) -> ScanReport:
    """Scan `paths` into the store; see the module docstring."""
    received = received or datetime.now(BERLIN).date()
    batch = batch or f"batch-{datetime.now(BERLIN):%Y%m%d-%H%M%S}"
    report = ScanReport(batch=batch, received=received, envelopes=envelopes)
    layouts = store.layouts()
    crops = ws.scans_dir / "crops"
    crops.mkdir(parents=True, exist_ok=True)
    with store.transaction():
        pages.add_batch(store, batch, now_utc(), received.isoformat(), envelopes)
    files = discover(paths)
    touched: set[int] = set()
    archived_copies: dict[str, Path] = {}
    letter_pages: dict[str, set[int]] = {}  # cover letters read in this run, by input
    resumed_inputs: set[str] = set()  # inputs with pages stored by an earlier run
    done = 0
    total = 0

    def whole_file_problem(input_file, sha: str, message: str) -> Iterator[PageInput | _FileDone]:
        """A file that yields no page at all is still accounted for, as one rejected page."""
        page = PageInput(path=input_file.path, name=input_file.name, sha256=sha, page_no=1, page_count=1,
                         kind="gray", problem=message)
        if not pages.page_stored(store, page.source):
            yield page
        yield _FileDone(sha, 1)

    def pages_to_read() -> Iterator[PageInput | _FileDone]:
        nonlocal total, done
        for input_file in files:
            sha = sha256_file(input_file.path)
            complete = pages.input_complete(store, sha)
            if complete:
                report.resumed_pages += pages.pages_of_input(store, sha)
                continue  # every page of this file is already stored
            archived = archive(ws, input_file.path, sha, input_file.kind.value if input_file.kind else None)
            archived_copies[sha] = archived
            if complete is None:
                with store.transaction():
                    pages.add_input(store, pages.NewInput(sha, input_file.name, input_file.size, batch,
                                                          str(archived.relative_to(ws.root)), input_file.problem,
                                                          now_utc()))
            if input_file.problem:
                total += 1
                yield from whole_file_problem(input_file, sha, input_file.problem)
                continue
            count = 0
            try:
                for page in iter_pages(input_file, sha256=sha):
                    count += 1
                    if page.page_no == 1:
                        total += page.page_count or 1
                        progress(done, total)
                    elif page.page_count is None:
                        total += 1
                    if pages.page_stored(store, page.source):
                        resumed_inputs.add(sha)
                        report.resumed_pages += 1
                        done += 1
                        continue
                    yield page
            except InputProblem as exc:
                if count == 0:
                    total += 1
                    yield from whole_file_problem(input_file, sha, str(exc))
                    continue
                report.problems.append(str(exc))
            yield _FileDone(sha, count)

    def store_page(scanned: ScannedPage) -> None:
        nonlocal done
        with store.transaction():
            outcome: PageOutcome = ingest_page(store, process, layouts, scanned)
        if scanned.kind is PageKind.LETTER:
            letter_pages.setdefault(scanned.input_sha256, set()).add(scanned.page_no)
        if not outcome.already_stored:
            report.new_pages += 1
        if outcome.record_id is not None:
            touched.add(outcome.record_id)
        if scanned.message and outcome.state in (PageState.REJECTED, PageState.UNREADABLE):
            report.problems.append(f"{scanned.source}: {scanned.message}")
        done += 1
        progress(done, total or None)

    workers = workers or int(os.environ.get("HYBRID_WORKERS") or 0) or os.cpu_count() or 1
    layouts_json = {h: layout.to_json() for h, layout in layouts.items()}
    in_flight: deque[Future] = deque()
    limit = workers * 4
    with worker_pool(workers, _worker_init, (layouts_json,)) as pool:

        def drain(until: int) -> None:
            while len(in_flight) > until:
                future = in_flight.popleft()
                item = future.result()
                if isinstance(item, _FileDone):
                    _forget_letters(store, item.sha256, archived_copies.get(item.sha256),
                                    letter_pages.pop(item.sha256, set()), item.sha256 in resumed_inputs)
                    with store.transaction():
                        pages.complete_input(store, item.sha256, item.pages)
                    continue
                page, result, problem = item
                if result is None:
                    store_page(_problem_page(page, problem or "unreadable", batch, received))
                else:
                    store_page(_scanned_page(page, result, batch, received, crops))

        for item in pages_to_read():
            if isinstance(item, _FileDone):
                marker: Future = Future()
                marker.set_result(item)
                in_flight.append(marker)
            else:
                in_flight.append(pool.submit(_read, item))
            drain(limit)
        drain(0)
    _account(store, report, batch, touched)
    return report


def _forget_letters(store: Store, sha256: str, archived: Path | None, letters: set[int], resumed: bool) -> None:
    """Blank the returned cover letters of one input in its archived copy (before the input
    is marked complete, so a batch killed in between does it on the next run). Only an
    input resumed from an earlier run asks the store for letters read then."""
    if resumed:
        letters = letters | pages.pages_with_reason(store, sha256, Reason.COVER_LETTER.value)
    if archived is None or not letters:
        return
    if not redact_letter_pages(archived, letters):
        with store.transaction():
            pages.drop_archived_copy(store, sha256)


@dataclass(frozen=True)
class _FileDone:
    sha256: str
    pages: int


def _account(store: Store, report: ScanReport, batch: str, touched: set[int]) -> None:
    """The batch's page accounting and the state of every ballot it touched."""
    for page in pages.batch_pages(store, batch):
        report.pages[PageState(page.state)] += 1
        for reason in json.loads(page.reasons):
            report.page_reasons[Reason(reason)] += 1
    for record_id in set(touched) | pages.batch_records(store, batch):
        record = records.record_status(store, record_id)
        report.records[RecordState(record.status)] += 1
        for reason in json.loads(record.reasons):
            report.record_reasons[Reason(reason)] += 1
    report.ballots_found = pages.batch_ballots(store, batch)
