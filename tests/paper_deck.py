"""A workspace with printed ballots whose pages are 'scanned' as readings (no OCR).

Stories about what happens after the reader (review, merge) run in milliseconds with it:
`issue` prints ballots into the store, `scan` ingests one page with the given marks
through the real `ingest_page`, `unreadable` a page without a code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hybrid.codes import new_code
from hybrid.definition import Process
from hybrid.page_reading import BoxScore, PageKind, PageReading, ScannedPage
from hybrid.paper_records import ingest_page
from hybrid.states import MarkState, Reason
from hybrid.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
RECEIVED = date(2027, 5, 10)
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000376ef9240000000a49444154789c6360000000020001e2"
    "21bc330000000049454e44ae426082")


@dataclass
class Deck:
    """A workspace with printed ballots and a helper to 'scan' readings into it."""

    root: Path
    store: Store
    layout: object
    process: Process
    codes: dict[int, str] = field(default_factory=dict)
    n: int = 0

    def issue(self, count: int) -> list[int]:
        first = self.store.next_serial()
        codes = issue_codes(self.store, self.layout, count)
        self.codes.update({first + i: code for i, code in enumerate(codes)})
        return list(range(first, first + count))

    def _source(self) -> tuple[str, str]:
        self.n += 1
        sha = hashlib.sha256(f"{self.root}:{self.n}".encode()).hexdigest()
        return sha, f"scan:{sha}#p1"

    def scan(self, serial: int, page: int = 1, marks: dict[int, MarkState] | None = None,
             reasons: tuple[Reason, ...] = (), comment: str | None = None,
             received: date = RECEIVED) -> ScannedPage:
        """One page of ballot `serial`; `marks` by printed number (others empty)."""
        layout_page = self.layout.pages[page - 1]
        boxes = tuple(BoxScore(b.question, b.option, b.number, (marks or {}).get(b.number, MarkState.EMPTY),
                               0.3 if (marks or {}).get(b.number) else 0.0) for b in layout_page.boxes)
        sha, source = self._source()
        suggestion = confidence = comment_crop = None
        if comment is not None:
            crops = self.root / "scans" / "crops"
            crops.mkdir(parents=True, exist_ok=True)
            (crops / f"{sha[:16]}-p1-comment.png").write_bytes(PNG_1x1)
            comment_crop = f"scans/crops/{sha[:16]}-p1-comment.png"
            suggestion, confidence = comment or None, 91.0 if comment else 12.0
        scanned = ScannedPage(
            source=source, input_sha256=sha, page_no=1, batch="tray", received=received, kind=PageKind.BALLOT,
            process_id=self.process.id, layout_hash=self.layout.layout_hash, ballot_page=page, serial=serial,
            code=self.codes[serial], reasons=reasons, mark_signature=f"{sha}",
            reading=PageReading(comment_suggestion=suggestion, comment_confidence=confidence, boxes=boxes),
            comment_crop=comment_crop)
        with self.store.transaction():
            ingest_page(self.store, self.process, self.store.layouts(), scanned)
        return scanned

    def scan_ballot(self, serial: int, marks: dict[int, MarkState] | None = None,
                    reasons: tuple[Reason, ...] = (), received: date = RECEIVED) -> None:
        """Every page of the ballot that carries boxes or a comment; `marks` where they are printed."""
        for page in self.layout.pages:
            if page.kind == "back":
                continue
            numbers = {b.number for b in page.boxes}
            here = {n: s for n, s in (marks or {}).items() if n in numbers}
            self.scan(serial, page.page, here, reasons if page.page == 1 else (), received=received)

    def unreadable(self) -> str:
        sha, source = self._source()
        scanned = ScannedPage(source=source, input_sha256=sha, page_no=1, batch="tray", received=RECEIVED,
                              kind=PageKind.UNREADABLE, message="QR unreadable")
        with self.store.transaction():
            ingest_page(self.store, self.process, self.store.layouts(), scanned)
        return source

    def record_of(self, serial: int, channel: str = "paper") -> int:
        return self.store.conn.execute("SELECT record_id FROM records WHERE serial = ? AND channel = ?",
                                       (serial, channel)).fetchone()[0]

    def effective(self, serial: int):
        from hybrid import review

        return review.effective_decision(self.store, self.process, self.record_of(serial))


def issue_codes(store: Store, layout, count: int) -> list[str]:
    """Issue `count` ballots of `layout` (saved if new) in one print run; their plain codes,
    in serial order (the test plays the printed paper)."""
    codes = [new_code() for _ in range(count)]
    with store.transaction():
        store.save_layout(layout)
        first = store.next_serial()
        run = store.start_print_run(first, first + count - 1, layout.layout_hash, "test")
        store.issue_ballots(run, layout.layout_hash, [(first + i, store.code_hash(c)) for i, c in enumerate(codes)])
    return codes


def returned_tray(process: Process, deck: Path, *, count: int, seed: int, mix: str, workers: int | None = None
                  ) -> dict:
    """`hybrid simulate` a tray of returned ballots into `deck`, then scan it into the deck's
    own workspace with the simulated postal date; returns the truth. Runs with the deck's
    key (XDG_CONFIG_HOME) and on SQLite, whatever the test's environment says."""
    import pytest

    from hybrid.workspace import Workspace
    from ocr.batch import run_scan
    from deck.build import DeckMix, simulate_deck

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("HYBRID_DATABASE_URL", raising=False)
        mp.delenv("HYBRID_SECRET", raising=False)
        extra = {} if workers is None else {"workers": workers}
        simulate_deck(process, deck, count=count, degrade="light", seed=seed,
                      mix=DeckMix.parse(mix), **extra)
        truth = json.loads((deck / "truth.json").read_text(encoding="utf-8"))
        mp.setenv("XDG_CONFIG_HOME", str(deck / "config"))
        ws = Workspace(deck / "workspace")
        store = ws.open_store()
        try:
            run_scan(ws, store, ws.process, [deck / "scans"], batch="tray-1",
                     received=date.fromisoformat(truth["received"]), workers=workers or 2)
        finally:
            store.close()
    return truth


def open_deck(root: Path, process: Process, definition: str | None = None) -> Deck:
    """A new workspace at `root` for `process` (process.yaml: `definition`, or the example of its kind)."""
    from forms.compose import BallotComposer

    root.mkdir(parents=True)
    text = definition or (EXAMPLES / f"{process.kind}.yaml").read_text(encoding="utf-8")
    (root / "process.yaml").write_text(text, encoding="utf-8")
    store = Store.open(root, process.id, create=True)
    layout = BallotComposer(process, process.languages[0], False).compose().layout
    with store.transaction():
        store.save_layout(layout)
    return Deck(root, store, layout, process)
