"""`hybrid simulate`: a test deck of filled, scanned ballots with the truth about each one.

Staff run it before a real count (does the reader get our ballots right on our
scanners?), and the accuracy tests use it. `simulate_deck` makes its OWN throwaway
workspace whose process id ends in `-test` (a live workspace rejects these ballots),
prints real ballots there, fills them like people do (`deck.fill`), damages and
scans or photographs them (`deck.degrade`) and writes the scans as trays come in
(`deck.files`). Deterministic: the same process, count, level, mix and seed give the
same truth and the same file bytes (ballot codes come from the seed too).

Output folder:

    OUT/workspace/          process.yaml (id …-test), hybrid.db, out/ (ballot PDFs, layouts)
    OUT/config/hybrid/…key  the test workspace's key (XDG_CONFIG_HOME=OUT/config)
    OUT/scans/              NNNN-tray.pdf, NNNN-tray.tif, NNNN-page.png, NNNN-page.jpg,
                            NNNN-photo.jpg — scan order = file name order, then page order
    OUT/truth.json          see below

To read the deck:  XDG_CONFIG_HOME=OUT/config hybrid -C OUT/workspace scan OUT/scans
--received <truth.received>   (`deck_environment(out)` gives that environment).

truth.json (format "hybrid-simulated-deck/1"):

    {"format", "generator": {"count", "degrade", "seed", "mix", "level": {…ranges…}},
     "process": {"source_id", "id", "kind"}, "workspace": "workspace", "config_home": "config",
     "scans": "scans", "scan_order": "…", "received": "2027-05-10",
     "layouts": {hash: {"layout_id", "language", "large_print", "pages": [kinds], "file"}},
     "ballots": [{
        "serial": 17, "code": "482177309512", "language": "de", "large_print": false,
        "layout_hash": "…", "case": "valid" | "blank" | "correction" | "overvote" | …,
        "behaviour": ["cross", "blue_ballpoint", "comment", "rescan"],
        "intent": {"q1": ["a"], "q2": ["b", "e"]},       # what the person meant
        "marks": [{"page": 1, "question": "q1", "option": "a", "number": 1, "style": "cross",
                   "ink": "blue_ballpoint", "expect": "marked", "ink_share": 0.182, "ring_share": 0.0}],
        "comment": "Mehr Bänke bitte" | null,
        "expected": {"status": "counted" | "review", "reasons": [...], "choices": {...}},
        "box_ink": {"1": {"4": [0.183, 0.0], "5": [0.0, 0.004]}},  # page → box number →
                   # [inside, ring] for every box with any ink in or around it (overshoots too)
        "photocopy": null | {"intent", "marks", "behaviour", "comment", "box_ink"},  # the
                   # second sheet with this code, filled differently
        "pages": [{"page": 1, "copy": 0, "file": "0003-tray.pdf", "index": 5, "state": "identified"}],
        "missing_pages": [2]}],
     "pages": [{"file": "0003-tray.pdf", "index": 5, "content": "ballot" | "blank" | "foreign",
                "serial", "page", "kind": "front" | "continuation" | "back", "copy": 0 | 1,
                "state": "identified" | "skipped" | "duplicate" | "rejected" | "unreadable",
                "reasons": [...], "rescan_of": null | {"file", "index"}, "dpi", "colour", "bw",
                "settings": {…scanner or photo…}, "damage": {…as drawn; the scanner may have
                lessened shift/skew to keep the corner squares in the image…}, "stains": [...],
                "corners_px": [[x, y] × 4],   # where the printed page's top-left, top-right,
                "size_px": [w, h]}],          # bottom-right, bottom-left corners landed
     "files": [{"file", "format", "pages", "dpi"}],
     "expected_pages": {"identified": n, …, "total": n},
     "expected_records": {"counted": n, "review": n},
     "expected_reasons": {"overvote": n, …},
     "expected_tally": {"q1": {"a": 12, "b": 0, …}, …}}

Rules of the truth (`expected_record` asks `hybrid.rules`; what it decides, in words):
- A mark's `expect` is the MarkState a person sees: marked (cross, tick, scribble),
  marginal (faint pencil), cancelled (box filled), or "outside" (ink in the 1–4 mm ring
  of an empty box: circle around it, tick beside it). `ink_share` / `ring_share` are
  the darkness added inside the box (outline excluded) / in its ring (other boxes + 1 mm
  excluded), 0..1, measured on the sheet before scanning (null for a page never scanned).
- Per question: more marked boxes than max_choices → overvote; knapsack sum over the
  heading amount → over_budget (approval: more than max_lines → overvote); only
  cancelled boxes → cancelled_only; a cancelled box beside a proper mark is no doubt;
  marginal → marginal_mark; outside → mark_outside_box.
- Sheet: QR blacked out but code printed → counted, code_from_ocr as information; QR and code blacked out →
  no_code (the page is unreadable; a person identifies it, then the record exists);
  a sheet that slipped in the feeder → doubtful_geometry; a photocopy (second sheet,
  same code, other marks) → photocopy; a content page never scanned → missing_page.
- Any reason → review (choices still given: what the marks say). Otherwise counted
  with the choices; no marked box at all → counted, reasons ["blank_ballot"]. Reasons
  of a counted ballot are informational; of a review ballot, required (a reader may add
  others only where the truth lists the sheet's damage).
- Pages, in scan order: a back side → skipped (back_side), an empty sheet → skipped
  (blank_page), a letter → rejected (not_a_ballot), QR and code blacked out → unreadable
  (no_code), a page with the same code, page number and marks as an earlier one →
  duplicate (rescan; `rescan_of` names the earlier page), else identified. So a
  photocopy's pages are identified where their marks differ from the original's, and
  duplicate where they do not (e.g. an unmarked second page: no reader can tell).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from deck import degrade as degrade_mod
from deck import files as files_mod
from deck.degrade import LEVELS, PhotoSettings, ScanSettings, SheetDamage
from deck.fill import INKS
from forms.print_run import PrintRequest, run_print
from hybrid import rules
from hybrid.codes import check_digit
from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.layout import Box, Layout, Page, Rect
from hybrid.states import MarkState, Reason, RecordState
from hybrid.worker_pool import worker_pool

DECK_FORMAT = "hybrid-simulated-deck/1"
SCAN_ORDER = "files in name order, pages in file order (1-based index)"
BERLIN = ZoneInfo("Europe/Berlin")

CASES = ("valid", "blank", "correction", "overvote", "over_budget", "cancelled_only", "faint_pencil",
         "circle_outside", "tick_beside", "spoilt", "photocopy", "qr_damaged", "unreadable", "missing_page",
         "feed_slip", "qr_layout_damaged")


# -- the mix -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeckMix:
    """Shares of ballots per special case (the rest are valid votes) and of extra pages.

    Case shares are of all ballots; a case that cannot happen for the process (overvote
    on a knapsack budget, missing_page on one-page ballots, feed_slip in photos) falls
    back to valid. Counts are rounded stochastically from the seed."""

    blank: float = 0.02  # no marks at all → counted, no choices
    correction: float = 0.03  # a cancelled box beside a proper mark → counted
    overvote: float = 0.025  # poll / approval budget: too many marks in one question
    over_budget: float = 0.025  # knapsack budget: over the heading amount
    cancelled_only: float = 0.015
    faint_pencil: float = 0.02
    circle_outside: float = 0.015
    tick_beside: float = 0.015
    spoilt: float = 0.01  # every box crossed
    photocopy: float = 0.01  # a copy of the ballot filled differently
    qr_damaged: float = 0.01  # QR blacked out, code still printed
    qr_layout_damaged: float = 0.0  # QR and the printed layout id blacked out: the OCR-read code cannot be trusted
    unreadable: float = 0.005  # QR, code and serial blacked out
    missing_page: float = 0.01  # one content page never scanned
    feed_slip: float = 0.005  # slipped in the feeder: stretched
    rescan: float = 0.02  # valid ballots scanned again (duplicate pages)
    comment: float = 0.12  # ballots with a handwritten comment (where there is a comment box)
    doodle: float = 0.05  # ballots with stray marks far from the boxes
    large_print: float = 0.05  # large-print ballots (at least one in a deck of 10+)
    blank_pages: float = 0.01  # empty sheets in the trays, per ballot
    foreign_pages: float = 0.01  # letters that are not ballots, per ballot
    duplex_trays: float = 0.35  # trays scanned with back sides (photos: 15 % of back sides photographed)

    @classmethod
    def parse(cls, text: str) -> DeckMix:
        """`"overvote=0.05,rescan=0.1"` → a mix with those shares changed."""
        known = {f.name for f in fields(cls)}
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in known:
                raise InvalidInput(f"--mix {name}: unknown; use {', '.join(sorted(known))}")
            try:
                values[name] = float(value)
            except ValueError:
                raise InvalidInput(f"--mix {part}: give a share like {name}=0.05") from None
            if not 0.0 <= values[name] <= 1.0:
                raise InvalidInput(f"--mix {part}: a share is between 0 and 1")
        return replace(cls(), **values)

    def case_shares(self) -> dict[str, float]:
        return {c: getattr(self, c) for c in CASES if c != "valid"}


# -- plan records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    page: int
    question: str
    option: str
    number: int
    style: str  # cross | tick | scribble | cancel | circle_outside | tick_beside
    ink: str
    expect: str  # marked | marginal | cancelled | outside


@dataclass(frozen=True)
class SheetPlan:
    """One physical sheet set with this ballot's code: the original, or a photocopy."""

    copy: int
    intent: dict[str, list[str]]
    marks: tuple[Mark, ...]
    ink: str
    behaviour: tuple[str, ...]
    comment: str | None = None
    doodles: int = 0
    blackout: str | None = None  # "qr": QR on page 1 | "all": QR, code and serial on every content page


@dataclass
class BallotPlan:
    serial: int
    code: str
    language: str
    large_print: bool
    layout: Layout
    pdf: Path
    pdf_first: int  # index of the ballot's page 1 in its PDF
    case: str
    sheets: list[SheetPlan] = field(default_factory=list)
    missing_pages: tuple[int, ...] = ()
    rescan: str | None = None  # copy: the same scan again | refeed: scanned again
    feed_slip_page: int | None = None

    @property
    def content_pages(self) -> list[int]:
        return [p.page for p in self.layout.pages if p.kind != "back"]


@dataclass(frozen=True)
class PageJob:
    """One image to make: everything a worker needs, nothing it must look up."""

    content: str  # ballot | blank | foreign
    serial: int | None
    copy: int
    page: int | None
    kind: str  # front | continuation | back | blank | foreign
    pdf: str | None
    pdf_index: int | None
    layout_page: Page | None
    marks: tuple[Mark, ...]
    ink: str
    comment: str | None
    doodles: int
    blackout: str | None
    photocopy: bool
    fill_seed: tuple[int, ...]
    scan_seed: tuple[int, ...]
    settings: ScanSettings | None
    damage: SheetDamage
    photo: PhotoSettings | None
    qr_text: str | None = None  # a foreign letter's QR
    rescan: bool = False  # the same sheet scanned (or saved) again


@dataclass(frozen=True)
class FileJob:
    path: Path
    format: str  # pdf | tiff | png | jpeg | photo
    dpi: int
    quality: int
    pages: tuple[PageJob, ...]


@dataclass(frozen=True)
class DeckSummary:
    """What `simulate_deck` made: counts per expected outcome, files and pages."""

    out_dir: Path
    process_id: str
    degrade: str
    seed: int
    ballots: int
    outcomes: dict[str, int]
    reasons: dict[str, int]
    pages: dict[str, int]
    files: dict[str, int]
    truth: Path
    seconds: float
    received: str = ""  # the postal date to scan the deck with (inside the voting window)

    def describe(self) -> str:
        lines = [
            f"Test deck for {self.process_id} in {self.out_dir} ({self.degrade}, seed {self.seed}, "
            f"{self.seconds:.1f} s)",
            f"  ballots: {self.ballots} — " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())),
            "  review reasons: " + (", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items())) or "none"),
            "  pages: " + ", ".join(f"{k} {v}" for k, v in self.pages.items()),
            "  files: " + ", ".join(f"{k} {v}" for k, v in sorted(self.files.items())),
            f"  truth: {self.truth}",
            f"  read it: XDG_CONFIG_HOME={self.out_dir / 'config'} hybrid -C {self.out_dir / 'workspace'} "
            f"scan {self.out_dir / 'scans'} --received {self.received}",
        ]
        return "\n".join(lines)


# -- the throwaway workspace ---------------------------------------------------------------------


def simulated_process_id(source_id: str) -> str:
    """`wue-bh-2027` → `wue-bh-2027-test` (within the 40-character id limit)."""
    if source_id.endswith("-test"):
        return source_id
    return source_id[:35].rstrip("-") + "-test"


def deck_environment(out_dir: Path) -> dict[str, str]:
    """The environment under which the deck's workspace opens with its own key."""
    return {"XDG_CONFIG_HOME": str(Path(out_dir).resolve() / "config")}


@contextmanager
def _deck_key(out_dir: Path, process_id: str) -> Iterator[None]:
    """For the duration: XDG_CONFIG_HOME inside the deck, HYBRID_SECRET = the deck's own
    key (written to OUT/config/hybrid/<id>.key, mode 0600). Restored afterwards, so the
    user's key folder is never read or written."""
    from hybrid.secret_key import KEY_BYTES, key_path

    saved = {name: os.environ.get(name) for name in ("XDG_CONFIG_HOME", "HYBRID_SECRET")}
    try:
        os.environ.update(deck_environment(out_dir))
        os.environ.pop("HYBRID_SECRET", None)
        path = key_path(process_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES))
        os.environ["HYBRID_SECRET"] = path.read_bytes().hex()
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _write_definition(process: Process, path: Path) -> None:
    import yaml

    from hybrid.definition_file import load_process

    body = process.model_dump(mode="json", exclude_none=True)
    text = "# Throwaway test workspace made by `hybrid simulate`: its ballots are never valid.\n"
    path.write_text(text + yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
    again = load_process(path)
    if again.model_dump() != process.model_dump():
        raise InvalidInput(f"{path}: the test definition does not read back as written")


class _SeededCodes:
    """Ballot codes from the deck's seed, so a deck is reproducible to the byte; it keeps
    the codes it handed out (a test deck's codes are in its truth anyway).

    Never the same code twice: the deck's store holds only these codes, so the print run
    issues every code it is handed, in serial order."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self.handed_out: list[str] = []
        self._seen: set[str] = set()

    def __call__(self) -> str:
        while True:
            body = str(int(self._rng.integers(1, 10))) + "".join(str(int(d)) for d in self._rng.integers(0, 10, 10))
            code = body + check_digit(body)
            if code not in self._seen:
                self._seen.add(code)
                self.handed_out.append(code)
                return code


def _print(store, process: Process, variants: list[tuple[str, bool, int]], out: Path, rng: np.random.Generator):
    """Print each variant's ballots like the print shop does; returns
    [(lang, large, layout, [(serial, code, pdf, first page index)])]."""
    printed = []
    codes = _SeededCodes(rng)
    for lang, large, count in variants:
        issued = len(codes.handed_out)
        result = run_print(store, process, PrintRequest(count=count, lang=lang, large_print=large), out,
                           workers=1, code_source=codes)
        run_codes = iter(codes.handed_out[issued:])  # codes[j] went to serial first + j
        layout = Layout.from_json(result.layout_path.read_text(encoding="utf-8"))  # type: ignore[union-attr]
        ballots = []
        for printed_file in result.files:
            for i, serial in enumerate(range(printed_file.first_serial, printed_file.last_serial + 1)):
                ballots.append((serial, next(run_codes), printed_file.path, i * len(layout.pages)))
        printed.append((lang, large, layout, ballots))
    return printed


# -- planning ballots ----------------------------------------------------------------------------

COMMENTS = {
    "de": ["Mehr Bänke am Ufer bitte!", "Danke für die Umfrage.", "Bitte an die Radfahrer denken.",
           "Öffentliche Toiletten sind dringend nötig", "Weniger Autos, mehr Grün.", "Ich wohne seit 40 Jahren hier",
           "Bitte mehr Licht am Abend", "Gute Idee, weiter so!", "Spielplätze für die Kleinen",
           "Warum erst jetzt?", "Schatten im Sommer fehlt"],
    "en": ["More benches please!", "Thanks for asking us.", "Think of cyclists too.", "Keep the trees!",
           "Public toilets are badly needed", "Great idea, go ahead", "Better lighting at night please"],
    "tr": ["Daha fazla bank lutfen", "Tesekkurler", "Cocuklar icin oyun alani"],
}
BALLOT_STYLES = ("cross", "tick", "scribble", "mixed")
BALLOT_STYLE_P = (0.55, 0.25, 0.1, 0.1)
PENS = ("black_ballpoint", "blue_ballpoint", "felt_tip")
PEN_P = (0.5, 0.45, 0.05)


class _Planner:
    """Decides intents and marks; all randomness from one generator, in a fixed order."""

    def __init__(self, process: Process, rng: np.random.Generator, mix: DeckMix) -> None:
        self.process = process
        self.rng = rng
        self.mix = mix
        self.items = process.items()
        self.order = {(it.question, it.option): it.number for it in self.items}
        self.price = {it.option: it.price or 0 for it in self.items if it.question == "budget"}
        self.popularity: dict[str, np.ndarray] = {}
        for q, options in self.questions().items():
            self.popularity[q] = rng.dirichlet(np.full(len(options), 1.5 if len(options) > 8 else 4.0))

    def questions(self) -> dict[str, list[str]]:
        return self.questions_of(self.process)

    @staticmethod
    def questions_of(process: Process) -> dict[str, list[str]]:
        """Question id (or "budget") → its options in printed order."""
        out: dict[str, list[str]] = {}
        for it in process.items():
            out.setdefault(it.question, []).append(it.option)
        return out

    def limit(self, q: str) -> int:
        if q == "budget":
            b = self.process.budget
            assert b is not None
            return b.max_lines if b.voting_style == "approval" and b.max_lines else len(self.price)
        return next(x.max_choices for x in self.process.questions if x.id == q)

    def sorted(self, q: str, options) -> list[str]:
        return sorted(set(options), key=lambda o: self.order[(q, o)])

    # -- intents --------------------------------------------------------------------------
    def valid_intent(self) -> dict[str, list[str]]:
        rng, intent = self.rng, {}
        for q, options in self.questions().items():
            if q == "budget":
                intent[q] = self.valid_budget()
                continue
            limit = self.limit(q)
            k = 0 if rng.random() < 0.04 else int(rng.choice(np.arange(1, limit + 1),
                                                            p=_harmonic(limit)))
            picked = rng.choice(len(options), size=k, replace=False, p=self.popularity[q]) if k else []
            intent[q] = self.sorted(q, [options[i] for i in picked])
        return {q: v for q, v in intent.items() if v}

    def valid_budget(self) -> list[str]:
        b = self.process.budget
        assert b is not None
        options = self.questions()["budget"]
        order = self.rng.choice(len(options), size=len(options), replace=False, p=self.popularity["budget"])
        if b.voting_style == "approval":
            target = int(self.rng.integers(1, (b.max_lines or 1) + 1))
            return self.sorted("budget", [options[i] for i in order[:target]])
        target, chosen, spent = int(self.rng.integers(1, 9)), [], 0
        for i in order:
            price = self.price[options[i]]
            if spent + price <= b.heading.amount:
                chosen.append(options[i])
                spent += price
            if len(chosen) >= target:
                break
        return self.sorted("budget", chosen)

    def overvotable(self) -> list[str]:
        qs = self.questions()
        if self.process.kind == "budget":
            b = self.process.budget
            assert b is not None
            return ["budget"] if b.voting_style == "approval" and (b.max_lines or 0) < len(qs["budget"]) else []
        return [q for q, opts in qs.items() if self.limit(q) < len(opts)]

    def can_overspend(self) -> bool:
        b = self.process.budget
        return b is not None and b.voting_style == "knapsack" and sum(self.price.values()) > b.heading.amount

    # -- sheets ---------------------------------------------------------------------------
    def sheet(self, case: str, language: str, page_of: dict[tuple[str, str], int], copy: int = 0,
              avoid: dict[str, list[str]] | None = None) -> SheetPlan:
        """The marks one person makes for `case` (see CASES); `page_of` says on which page
        each box is; `avoid`: an intent this sheet must differ from (a photocopy's)."""
        rng, qs = self.rng, self.questions()
        ink = str(rng.choice(PENS, p=PEN_P))
        style = str(rng.choice(BALLOT_STYLES, p=BALLOT_STYLE_P))  # people keep to one style, mostly
        behaviour = {ink}
        drafts: list[_Draft] = []

        def mark(q: str, o: str, how: str | None = None, expect: str = "marked") -> None:
            if how is None:
                how = str(rng.choice(BALLOT_STYLES[:3], p=(0.6, 0.28, 0.12))) if style == "mixed" else style
            drafts.append(_Draft(q, o, how, ink, expect))

        intent = self.valid_intent()
        for _ in range(20):
            if avoid is None or intent != avoid:
                break
            intent = self.valid_intent()
        if case == "blank":
            intent = {}
        elif case == "overvote":
            q = str(rng.choice(self.overvotable()))
            extra = int(rng.integers(1, min(2, len(qs[q]) - self.limit(q)) + 1))
            picked = rng.choice(len(qs[q]), size=self.limit(q) + extra, replace=False, p=self.popularity[q])
            intent[q] = self.sorted(q, [qs[q][i] for i in picked])
        elif case == "over_budget":  # a fair choice, then a few more until the money runs out
            b = self.process.budget
            assert b is not None
            chosen = list(intent.get("budget", []))
            for o in rng.permutation([o for o in qs["budget"] if o not in chosen]):
                chosen.append(str(o))
                if sum(self.price[x] for x in chosen) > b.heading.amount:
                    break
            intent["budget"] = self.sorted("budget", chosen)
        elif case == "spoilt":
            intent = {q: list(opts) for q, opts in qs.items()}
        for q, options in intent.items():
            for o in options:
                mark(q, o)

        if case == "correction":  # crossed a box, filled it (= cancelled), marked another (DESIGN §5)
            q = str(rng.choice([q for q in intent if len(intent[q]) < len(qs[q])] or list(qs)))
            if not intent.get(q):
                intent[q] = [str(rng.choice(qs[q]))]
                mark(q, intent[q][0])
            free = [o for o in qs[q] if o not in intent[q]]
            if free:
                mark(q, str(rng.choice(free)), "cancel", "cancelled")
        elif case == "cancelled_only":  # a correction, and then no other mark in that question
            q = str(rng.choice(list(qs)))
            drafts[:] = [d for d in drafts if d.question != q]
            intent.pop(q, None)
            for o in rng.choice(qs[q], size=1 + int(rng.random() < 0.25), replace=False):
                mark(q, str(o), "cancel", "cancelled")
        elif case in ("faint_pencil", "circle_outside", "tick_beside"):
            if not drafts:
                q = str(rng.choice(list(qs)))
                intent[q] = [qs[q][0]]
                mark(q, qs[q][0])
            if case == "faint_pencil":  # all marks in light pencil, or just one
                which = range(len(drafts)) if rng.random() < 0.5 else [int(rng.integers(len(drafts)))]
                for i in which:
                    how = drafts[i].style if drafts[i].style in ("cross", "tick") else "cross"
                    drafts[i] = drafts[i]._replace(style=how, ink="faint_pencil", expect="marginal")
            else:  # one choice circled, or ticked beside its box, instead of marked in it
                i = int(rng.integers(len(drafts)))
                drafts[i] = drafts[i]._replace(style=case, expect="outside")
        if case in ("correction", "cancelled_only", "faint_pencil", "circle_outside", "tick_beside", "overvote",
                    "over_budget", "spoilt", "blank"):
            behaviour.add(case)
        behaviour |= {d.style for d in drafts if d.expect == "marked"}

        comment, doodles = None, 0
        if case != "blank" and self.process.comment and rng.random() < self.mix.comment:
            comment = str(rng.choice(COMMENTS.get(language, COMMENTS["en"])))
            behaviour.add("comment")
        if case != "blank" and rng.random() < self.mix.doodle:
            doodles = int(rng.integers(1, 3))
            behaviour.add("doodle")
        drafts.sort(key=lambda d: self.order[(d.question, d.option)])
        marks = tuple(Mark(page_of[(d.question, d.option)], d.question, d.option, self.order[(d.question, d.option)],
                           d.style, d.ink, d.expect) for d in drafts)
        return SheetPlan(copy=copy, intent={q: self.sorted(q, v) for q, v in intent.items() if v}, marks=marks,
                         ink=ink, behaviour=tuple(sorted(behaviour)), comment=comment, doodles=doodles)


class _Draft(NamedTuple):
    question: str
    option: str
    style: str
    ink: str
    expect: str


def _harmonic(n: int) -> np.ndarray:
    """P(k choices) ∝ 1/k: most people choose fewer than they may."""
    w = 1.0 / np.arange(1, n + 1)
    return w / w.sum()


def _stochastic_round(x: float, rng: np.random.Generator) -> int:
    return int(math.floor(x)) + int(rng.random() < x - math.floor(x))


def _applicable(case: str, planner: _Planner, level: str) -> bool:
    if case == "overvote":
        return bool(planner.overvotable())
    if case == "over_budget":
        return planner.can_overspend()
    if case == "spoilt":
        return bool(planner.overvotable()) or planner.can_overspend()
    if case == "feed_slip":
        return level != "photo"
    if case == "qr_layout_damaged":  # drawn only when asked for: older decks keep their random draws
        return planner.mix.qr_layout_damaged > 0
    return True


# -- the oracle ------------------------------------------------------------------------------------


# What a careful person sees in each kind of mark; ink beside a box is a page doubt, not a box state.
_MARK_STATES = {"marked": MarkState.MARKED, "marginal": MarkState.MARGINAL, "cancelled": MarkState.CANCELLED}


def expected_record(process: Process, ballot: BallotPlan) -> dict:
    """What the ballot must count as, decided by `hybrid.rules` from what is on the paper.

    The rules never see no_code (that ballot has no record until a person identifies its
    page), and a review ballot whose QR alone was lost lists code_from_ocr beside its doubts."""
    original = ballot.sheets[0]
    page_reasons = set()
    if any(m.expect == "outside" for m in original.marks):
        page_reasons.add(Reason.MARK_OUTSIDE_BOX)
    if ballot.feed_slip_page is not None:
        page_reasons.add(Reason.DOUBTFUL_GEOMETRY)
    # QR lost, code printed: the OCR-read code passes every check (rules.ocr_code_trusted)
    # unless the layout id is blacked out too ("qr_layout": a person confirms the code).
    if original.blackout in ("qr", "qr_layout"):
        page_reasons.add(Reason.CODE_FROM_OCR)
    content = frozenset(ballot.content_pages)
    decision = rules.decide_paper(process, rules.PaperBallot(
        pages_expected=len(content), pages_present=content - set(ballot.missing_pages), content_pages=content,
        boxes=tuple(rules.MarkedBox(m.question, m.option, _MARK_STATES[m.expect])
                    for m in original.marks if m.expect in _MARK_STATES),
        page_reasons=frozenset(page_reasons), photocopy=len(ballot.sheets) > 1,
        ocr_code_trusted=original.blackout == "qr"))
    reasons = {r.value for r in decision.reasons}
    choices = {q: list(options) for q, options in decision.choices.items()}
    if original.blackout == "all":
        doubts = reasons if decision.state is RecordState.REVIEW else set()
        return {"status": "review", "reasons": sorted(doubts | {"no_code"}), "choices": choices}
    if decision.state is RecordState.REVIEW:
        information = {"code_from_ocr"} if original.blackout == "qr" else set()
        return {"status": "review", "reasons": sorted(reasons | information), "choices": choices}
    return {"status": "counted", "reasons": [r.value for r in decision.reasons], "choices": choices}


# -- planning the trays ------------------------------------------------------------------------------


def _faint(ballot: BallotPlan) -> bool:
    """Faint pencil never goes through black/white mode: it would vanish from the scan."""
    return any(m.ink == "faint_pencil" for s in ballot.sheets for m in s.marks)


def _seed(*parts: int) -> tuple[int, ...]:
    return tuple(int(p) for p in parts)


@dataclass
class _Tray:
    """A pile of envelopes' contents scanned in one go: one format, one scanner setting."""

    format: str  # pdf | tiff | png | jpeg | photo
    settings: ScanSettings
    duplex: bool  # back sides scanned too
    ballots: list[BallotPlan]
    pages: list[PageJob] = field(default_factory=list)
    carried_in: list[PageJob] = field(default_factory=list)  # sheets that strayed from the tray before


class _Trays:
    """Turns ballots into scan files: trays in envelope order, each a format and settings."""

    def __init__(self, level: str, mix: DeckMix, seed: int, rng: np.random.Generator) -> None:
        self.level = LEVELS[level]
        self.mix = mix
        self.seed = seed
        self.rng = rng

    def damage(self, page: Page | None, *, upright: bool = False, slip: bool = False) -> SheetDamage:
        d = degrade_mod.sample_sheet_damage(self.level, self.rng, feed_slip=slip, upright=upright)
        if page is not None and d.folds_mm:  # a crease through a box would look like a faint mark
            d = replace(d, folds_mm=degrade_mod.move_folds_off_boxes(d.folds_mm, page.boxes))
        return d

    def ballot_pages(self, ballot: BallotPlan, sheet: SheetPlan, duplex: bool, settings, photo: bool) -> list[PageJob]:
        jobs = []
        for page in ballot.layout.pages:
            if page.page in ballot.missing_pages and sheet.copy == 0:
                continue
            if page.kind == "back" and (not duplex or sheet.copy):
                continue
            blackout = None
            if sheet.blackout in ("qr", "qr_layout") and page.page == 1:
                blackout = sheet.blackout
            elif sheet.blackout == "all" and page.kind != "back":
                blackout = "all"
            slip = ballot.feed_slip_page == page.page and sheet.copy == 0
            jobs.append(PageJob(
                content="ballot", serial=ballot.serial, copy=sheet.copy, page=page.page, kind=page.kind,
                pdf=str(ballot.pdf), pdf_index=ballot.pdf_first + page.page - 1, layout_page=page,
                marks=tuple(m for m in sheet.marks if m.page == page.page), ink=sheet.ink,
                comment=sheet.comment if page.comment is not None else None,
                doodles=sheet.doodles if page.page == 1 else 0, blackout=blackout, photocopy=sheet.copy == 1,
                fill_seed=_seed(self.seed, ballot.serial, sheet.copy, page.page, 1),
                scan_seed=_seed(self.seed, ballot.serial, sheet.copy, page.page, 3, 0),
                settings=None if photo else settings,
                damage=self.damage(page, upright=blackout is not None, slip=slip),
                photo=degrade_mod.sample_photo_settings(self.level, self.rng) if photo else None,
            ))
        return jobs

    def extra_page(self, content: str, n: int, settings, photo: bool) -> PageJob:
        qr = None
        if content == "foreign" and self.rng.random() < 0.5:
            qr = f"https://www.wuerzburg.de/service/{int(self.rng.integers(10**5, 10**6))}"
        return PageJob(
            content=content, serial=None, copy=0, page=None, kind=content, pdf=None, pdf_index=None,
            layout_page=None, marks=(), ink="black_ballpoint", comment=None, doodles=0, blackout=None,
            photocopy=False, fill_seed=_seed(self.seed, 0, n, 0, 4), scan_seed=_seed(self.seed, 0, n, 0, 5, 0),
            settings=None if photo else settings, damage=self.damage(None),
            photo=degrade_mod.sample_photo_settings(self.level, self.rng) if photo else None, qr_text=qr,
        )

    def plan(self, ballots: list[BallotPlan], scans: Path) -> list[FileJob]:
        rng, photo = self.rng, self.level.photo
        order = [ballots[i] for i in rng.permutation(len(ballots))]
        trays: list[_Tray] = []
        i = 0
        while i < len(order):
            if photo:
                fmt, size = "photo", int(rng.integers(1, 6))
            else:
                fmt = str(rng.choice(["pdf", "tiff", "png", "jpeg"], p=[0.6, 0.12, 0.05, 0.23]))
                size = {"pdf": int(rng.integers(4, 16)), "tiff": int(rng.integers(2, 5)),
                        "png": int(rng.integers(1, 4)), "jpeg": int(rng.integers(1, 6))}[fmt]
            group = order[i:i + size]
            i += size
            faint = any(_faint(b) for b in group)
            colour = fmt == "jpeg" and rng.random() < 0.5  # colour scans come as JPEG
            settings = degrade_mod.sample_scan_settings(self.level, rng, colour=colour, allow_bw=not faint)
            if fmt == "png" and settings.dpi > 200:  # lossless pages of paper noise: 2.5 MB at 200 DPI already
                settings = replace(settings, dpi=200)
            duplex = rng.random() < (self.mix.duplex_trays if not photo else 0.15)
            trays.append(_Tray(fmt, settings, duplex, group))

        for t_index, tray in enumerate(trays):
            tray.pages.extend(tray.carried_in)
            for ballot in tray.ballots:
                pages = self.ballot_pages(ballot, ballot.sheets[0], tray.duplex, tray.settings, photo)
                by_sheet: dict[int, list[PageJob]] = {}
                for job in pages:  # duplex print: pages 1-2 are sheet 1, pages 3-4 sheet 2 …
                    by_sheet.setdefault((job.page - 1) // 2, []).append(job)  # type: ignore[operator]
                sheets = list(by_sheet.values())
                if len(sheets) > 1 and rng.random() < 0.06:
                    sheets.reverse()  # the person put the sheets back in the wrong order
                if (len(sheets) > 1 and t_index + 1 < len(trays) and rng.random() < 0.04
                        and (trays[t_index + 1].settings.bw_threshold is None or not _faint(ballot))):
                    # A sheet went astray and was scanned with the next tray (and its settings).
                    settings = None if photo else trays[t_index + 1].settings
                    trays[t_index + 1].carried_in.extend(replace(job, settings=settings) for job in sheets.pop())
                for sheet_pages in sheets:
                    tray.pages.extend(sheet_pages)

        # Photocopies: the copied sheet arrives in some tray, anywhere.
        for ballot in ballots:
            for sheet in ballot.sheets[1:]:
                tray = trays[int(rng.integers(len(trays)))]
                jobs = self.ballot_pages(ballot, sheet, False, tray.settings, photo)
                at = int(rng.integers(len(tray.pages) + 1))
                tray.pages[at:at] = jobs
        # Empty sheets and letters that came in the envelopes.
        extras = (["blank"] * _stochastic_round(len(ballots) * self.mix.blank_pages, rng)
                  + ["foreign"] * _stochastic_round(len(ballots) * self.mix.foreign_pages, rng))
        for n, content in enumerate(extras, start=1):
            tray = trays[int(rng.integers(len(trays)))]
            at = int(rng.integers(len(tray.pages) + 1))
            tray.pages.insert(at, self.extra_page(content, n, tray.settings, photo))

        # Rescans: "refeed" goes through the scanner again later; "copy" is the same scan in another file.
        exact_after: dict[int, list[PageJob]] = {}
        for ballot in ballots:
            if ballot.rescan is None:
                continue
            where = [(t, k) for t, tray in enumerate(trays) for k, job in enumerate(tray.pages)
                     if job.serial == ballot.serial and job.copy == 0 and job.kind != "back"]
            if not where:
                continue
            if rng.random() < 0.5:
                where = [where[int(rng.integers(len(where)))]]
            last_tray = max(t for t, _ in where)
            originals = [trays[t].pages[k] for t, k in where]
            if ballot.rescan == "copy":
                exact_after.setdefault(last_tray, []).extend(originals)
                continue
            later = int(rng.integers(last_tray, len(trays)))
            tray = trays[later]
            first = 0 if later > last_tray else max(k for t, k in where if t == later) + 1
            at = int(rng.integers(first, len(tray.pages) + 1))
            again = [replace(job, scan_seed=job.scan_seed[:-1] + (1,), settings=None if photo else tray.settings,
                             damage=replace(self.damage(job.layout_page, upright=job.blackout is not None),
                                            folds_mm=job.damage.folds_mm, fold_darkness=job.damage.fold_darkness,
                                            stains=job.damage.stains, feed_slip=job.damage.feed_slip),
                             rescan=True)
                     for job in originals]
            tray.pages[at:at] = again

        files: list[FileJob] = []
        for t_index, tray in enumerate(trays):
            self._files_of(tray, scans, files)
            for job in exact_after.get(t_index, []):
                # The same scan saved again: same pixels, a new file (other quality, so other bytes).
                quality = job.photo.jpeg_quality if job.photo else job.settings.jpeg_quality  # type: ignore[union-attr]
                dpi = job.settings.dpi if job.settings else 0
                path = scans / f"{len(files) + 1:04d}-{'photo' if photo else 'page'}.jpg"
                files.append(FileJob(path, "photo" if photo else "jpeg", dpi, max(25, quality - 7),
                                     (replace(job, rescan=True),)))
        return files

    def _files_of(self, tray: _Tray, scans: Path, files: list[FileJob]) -> None:
        fmt, settings, pages = tray.format, tray.settings, tray.pages
        if not pages:
            return
        if fmt in ("pdf", "tiff"):
            ext = "pdf" if fmt == "pdf" else "tif"
            path = scans / f"{len(files) + 1:04d}-tray.{ext}"
            files.append(FileJob(path, fmt, settings.dpi, settings.jpeg_quality, tuple(pages)))
            return
        for job in pages:
            if fmt == "photo":
                path = scans / f"{len(files) + 1:04d}-photo.jpg"
                files.append(FileJob(path, "photo", 0, job.photo.jpeg_quality, (job,)))  # type: ignore[union-attr]
            else:
                path = scans / f"{len(files) + 1:04d}-page.{'png' if fmt == 'png' else 'jpg'}"
                files.append(FileJob(path, fmt, settings.dpi, settings.jpeg_quality, (job,)))


# -- making the images (workers) ----------------------------------------------------------------------

_PDFS: dict[str, object] = {}


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)


def _render(pdf_path: str, index: int, dpi: float) -> np.ndarray:
    import pypdfium2 as pdfium

    pdf = _PDFS.get(pdf_path)
    if pdf is None:
        pdf = _PDFS[pdf_path] = pdfium.PdfDocument(pdf_path)
    page = pdf[index]  # type: ignore[index]
    try:
        image = page.render(scale=dpi / 72, grayscale=True).to_numpy()
    finally:
        page.close()
    if image.ndim == 3:
        image = image[..., 0]
    return np.ascontiguousarray(image)


def _keep_clear(page: Page) -> list[Rect]:
    rects = [page.qr, *page.fiducials]
    rects += [r for r in (page.code_text, page.serial_text, page.layout_id_text, page.comment) if r is not None]
    return rects


def make_page(job: PageJob) -> tuple[np.ndarray, dict]:
    """One page image as the scanner or phone delivers it, and what was measured on the way."""
    import cv2

    from deck import fill

    photo = job.photo is not None
    dpi = degrade_mod.photo_page_dpi(job.photo) if photo else job.settings.dpi  # type: ignore[union-attr]
    colour = photo or bool(job.settings and job.settings.colour)
    fill_rng = np.random.default_rng(job.fill_seed)
    report: dict = {}
    boxes: list[Box] = []
    others: list[Rect] = []
    if job.content == "ballot":
        assert job.layout_page is not None and job.pdf is not None and job.pdf_index is not None
        page = job.layout_page
        boxes, others = list(page.boxes), _keep_clear(page)
        image = _render(job.pdf, job.pdf_index, dpi)
        if job.photocopy:
            image = degrade_mod.photocopy_toner(image, dpi, np.random.default_rng(job.fill_seed + (9,)), boxes)
        if colour:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        before = image.copy()
        sheet = fill.Sheet(image, dpi)
        by_number = {b.number: b for b in boxes}
        for m in job.marks:
            ink, box = INKS[m.ink], by_number[m.number]
            if m.style == "cancel" and fill_rng.random() < 0.6:
                fill.draw_cross(sheet, box, ink, fill_rng)  # crossed first, then filled: a correction
            fill.draw_mark(sheet, m.style, box, ink, fill_rng)
        if job.comment and page.comment is not None:
            fill.write_comment(sheet, page.comment, job.comment, INKS[job.ink], fill_rng)
        for _ in range(job.doodles):
            keep = [(b, fill.DOODLE_CLEARANCE_MM) for b in boxes] + [(r, 3.0) for r in others]
            fill.draw_doodle(sheet, keep, INKS[job.ink], fill_rng)
        if job.blackout:
            fill.black_out(sheet, page.qr, fill_rng)
            if job.blackout == "qr_layout" and page.layout_id_text is not None:
                fill.black_out(sheet, page.layout_id_text, fill_rng, margin_mm=(0.5, 1.0))
            if job.blackout == "all":
                for rect in (page.code_text, page.serial_text):
                    if rect is not None:
                        fill.black_out(sheet, rect, fill_rng, margin_mm=(0.5, 1.0))
        ink = {}
        for b in boxes:
            neighbours = [o for o in boxes if o is not b and abs(o.y - b.y) < 20 and abs(o.x - b.x) < 20]
            inside, ring = fill.ink_in_box(before, image, b, dpi), fill.ink_in_ring(before, image, b, dpi, neighbours)
            if inside > 0.002 or ring > 0.002:
                ink[str(b.number)] = [round(inside, 4), round(ring, 4)]
        report["ink"] = ink
        del before
    elif job.content == "foreign":
        image = fill.draw_letter(dpi, fill_rng, job.qr_text)
        if colour:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    else:
        h, w = int(round(297 * dpi / 25.4)), int(round(210 * dpi / 25.4))
        image = np.full((h, w, 3) if colour else (h, w), 255, np.uint8)

    paper_rng = np.random.default_rng(job.fill_seed + (2,))
    report["stains"] = degrade_mod.paper_effects(image, dpi, job.damage, paper_rng, boxes, others)
    fiducials = list(job.layout_page.fiducials) if job.layout_page else []
    if job.photocopy:
        image, placed = degrade_mod.photocopy_placement(image, dpi, np.random.default_rng(job.fill_seed + (8,)))
        fiducials = degrade_mod.moved_rects(fiducials, placed, dpi)
    scan_rng = np.random.default_rng(job.scan_seed)
    if photo:
        out, corners = degrade_mod.photograph(image, job.photo, scan_rng, upside_down=job.damage.upside_down)
    else:
        assert job.settings is not None
        out, corners = degrade_mod.scan(image, dpi, job.settings, job.damage, scan_rng, fiducials)
    report["corners_px"] = corners
    report["size_px"] = [int(out.shape[1]), int(out.shape[0])]
    return out, report


def make_file(job: FileJob) -> list[dict]:
    """Worker: write one scan file; returns one report per page."""
    reports: list[dict] = []
    encoded: list = []
    for page in job.pages:
        image, report = make_page(page)
        reports.append(report)
        bw = bool(page.settings and page.settings.bw_threshold is not None)
        if job.format == "pdf":
            encoded.append(files_mod.encode_jpeg(image, job.quality))
        elif job.format == "tiff":
            encoded.append(files_mod.encode_tiff_frame(image, job.dpi, bw, job.quality))
        elif job.format == "png":
            files_mod.write_png(job.path, image, job.dpi, bw)
        elif job.format == "jpeg":
            files_mod.write_jpeg(job.path, image, job.quality, job.dpi)
        else:
            files_mod.write_jpeg(job.path, image, job.quality)
    if job.format == "pdf":
        files_mod.write_pdf(job.path, encoded, job.dpi)
    elif job.format == "tiff":
        files_mod.write_tiff(job.path, encoded, job.dpi)
    return reports


def _run(jobs: list[FileJob], workers: int, progress: Callable[[int, int], None]) -> list[list[dict]]:
    total = sum(len(j.pages) for j in jobs)
    done = 0
    results: list[list[dict]] = []
    with worker_pool(workers, _worker_init) as pool:
        # Biggest trays first, so no worker is left with a long tray at the end; results in order.
        biggest_first = sorted(range(len(jobs)), key=lambda i: -len(jobs[i].pages))
        futures = {i: pool.submit(make_file, jobs[i]) for i in biggest_first}
        for i, job in enumerate(jobs):
            results.append(futures[i].result())
            done += len(job.pages)
            progress(done, total)
    return results


# -- the deck --------------------------------------------------------------------------------------


def _check_output(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"{out_dir}: not a folder")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InvalidInput(f"{out_dir}: folder is not empty; simulate writes a fresh deck")


def _variants(process: Process, count: int, mix: DeckMix, rng: np.random.Generator) -> list[tuple[str, bool, int]]:
    """How many ballots of each (language, large print): the first language most."""
    langs = process.languages
    p = np.array([0.6] + [0.4 / (len(langs) - 1)] * (len(langs) - 1)) if len(langs) > 1 else np.array([1.0])
    chosen = Counter()
    large = np.array([rng.random() < mix.large_print for _ in range(count)])
    if count >= 10 and mix.large_print > 0 and not large.any():
        large[int(rng.integers(count))] = True
    for i in range(count):
        chosen[(str(rng.choice(langs, p=p)), bool(large[i]))] += 1
    order = [(lang, lp) for lp in (False, True) for lang in langs]
    return [(lang, lp, chosen[(lang, lp)]) for lang, lp in order if chosen[(lang, lp)]]


def _received(process: Process) -> date:
    opens = process.opens.astimezone(BERLIN).date()
    closes = (process.closes.astimezone(BERLIN) - timedelta(seconds=1)).date()
    return min(opens + timedelta(days=7), closes)


def simulate_deck(process: Process, out_dir: Path, count: int, degrade: str, seed: int, *,
                  mix: DeckMix | None = None, workers: int | None = None,
                  progress: Callable[[int, int], None] = lambda done, total: None) -> DeckSummary:
    """Make a test deck of `count` ballots in `out_dir` (see the module docstring).

    `out_dir` must be missing or empty. The caller's environment is unchanged afterwards
    and nothing is written outside `out_dir`."""
    started = time.perf_counter()
    if count < 1:
        raise InvalidInput("--count must be at least 1")
    if degrade not in LEVELS:
        raise InvalidInput(f"--degrade {degrade}: use {', '.join(LEVELS)}")
    out_dir = Path(out_dir)
    _check_output(out_dir)
    mix = mix or DeckMix()
    rng = np.random.default_rng(seed)
    test = process.model_copy(update={"id": simulated_process_id(process.id)})
    ws_dir, scans = out_dir / "workspace", out_dir / "scans"
    ws_dir.mkdir(parents=True)
    scans.mkdir()
    _write_definition(test, ws_dir / "process.yaml")

    from hybrid.store import Store

    with _deck_key(out_dir, test.id):
        store = Store.open(ws_dir, test.id, create=True)
        try:
            variants = _variants(test, count, mix, rng)
            printed = _print(store, test, variants, ws_dir / "out", np.random.default_rng([seed, 7]))
        finally:
            store.close()

    ballots = _plan_ballots(test, printed, mix, degrade, rng)
    file_jobs = _Trays(degrade, mix, seed, rng).plan(ballots, scans)
    if workers is None:  # a pool pays off from a few dozen pages on
        workers = (os.cpu_count() or 1) if sum(len(f.pages) for f in file_jobs) >= 24 else 1
    workers = max(1, min(workers, len(file_jobs)))
    reports = _run(file_jobs, workers, progress)
    truth = _truth(test, process, ballots, file_jobs, reports, printed, mix, degrade, seed, count, out_dir)
    truth_path = out_dir / "truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return DeckSummary(
        out_dir=out_dir, process_id=test.id, degrade=degrade, seed=seed, ballots=len(ballots),
        outcomes=dict(truth["expected_records"]), reasons=dict(truth["expected_reasons"]),
        pages=dict(truth["expected_pages"]), files=dict(Counter(f.format for f in file_jobs)), truth=truth_path,
        seconds=time.perf_counter() - started, received=truth["received"],
    )


def _plan_ballots(process: Process, printed, mix: DeckMix, level: str, rng: np.random.Generator) -> list[BallotPlan]:
    planner = _Planner(process, rng, mix)
    ballots: list[BallotPlan] = []
    for lang, large, layout, items in printed:
        for serial, code, pdf, first in items:
            ballots.append(BallotPlan(serial, code, lang, large, layout, pdf, first, "valid"))
    # Cases: counts from the shares, ballots drawn without replacement among those that fit.
    free = list(range(len(ballots)))
    for case, share in mix.case_shares().items():
        if not _applicable(case, planner, level):
            continue
        n = _stochastic_round(len(ballots) * share, rng)
        fits = [i for i in free if case != "missing_page" or len(ballots[i].content_pages) > 1]
        for i in rng.permutation(fits)[:n] if fits else []:
            ballots[int(i)].case = case
            free.remove(int(i))
    for ballot in ballots:
        page_of = {(b.question, b.option): p.page for p in ballot.layout.pages for b in p.boxes}
        case = ballot.case
        sheet_case = case if case in ("blank", "correction", "overvote", "over_budget", "cancelled_only",
                                      "faint_pencil", "circle_outside", "tick_beside", "spoilt") else "valid"
        sheet = planner.sheet(sheet_case, ballot.language, page_of)
        if case == "qr_damaged":
            sheet = replace(sheet, blackout="qr", behaviour=tuple(sorted(sheet.behaviour + ("qr_blacked_out",))))
        elif case == "qr_layout_damaged":
            sheet = replace(sheet, blackout="qr_layout",
                            behaviour=tuple(sorted(sheet.behaviour + ("qr_blacked_out", "layout_id_blacked_out"))))
        elif case == "unreadable":
            sheet = replace(sheet, blackout="all", behaviour=tuple(sorted(sheet.behaviour + ("code_blacked_out",))))
        ballot.sheets.append(sheet)
        if case == "photocopy":
            copy = planner.sheet("valid", ballot.language, page_of, copy=1, avoid=sheet.intent)
            ballot.sheets.append(replace(copy, behaviour=tuple(sorted(copy.behaviour + ("photocopy",)))))
        elif case == "missing_page":
            ballot.missing_pages = (int(rng.choice(ballot.content_pages[1:] if rng.random() < 0.7
                                                   else ballot.content_pages)),)
        elif case == "feed_slip":
            ballot.feed_slip_page = 1
    valid = [b for b in ballots if b.case in ("valid", "correction")]
    for i in rng.permutation(len(valid))[:_stochastic_round(len(ballots) * mix.rescan, rng)]:
        valid[int(i)].rescan = "copy" if rng.random() < 0.5 else "refeed"
    return ballots


# -- the truth -------------------------------------------------------------------------------------


def _signature(job: PageJob) -> tuple[tuple[int, str], ...]:
    """What tells one filled sheet page from another with the same code: its marks."""
    return tuple(sorted((m.number, m.expect) for m in job.marks if m.expect in ("marked", "cancelled", "marginal")))


@dataclass(frozen=True)
class _PageRow:
    file: str
    index: int
    job: PageJob
    state: str
    reasons: list[str]
    first: tuple[str, int] | None  # for a duplicate: the page it repeats


def _page_states(file_jobs: list[FileJob], out_dir: Path) -> list[_PageRow]:
    """The expected state of every page, in scan order. A page is the same sheet again
    when a page with the same code, page number and marks came before it: a rescan, or
    a page of a photocopy that nobody marked differently (a reader cannot tell them apart)."""
    seen: dict[tuple, tuple[str, int]] = {}
    rows = []
    for fj in file_jobs:
        name = fj.path.relative_to(out_dir / "scans").as_posix()
        for index, job in enumerate(fj.pages, start=1):
            first = None
            if job.content == "blank":
                state, reasons = "skipped", ["blank_page"]
            elif job.content == "foreign":
                state, reasons = "rejected", ["not_a_ballot"]
            elif job.kind == "back":
                state, reasons = "skipped", ["back_side"]
            elif job.blackout == "all":
                state, reasons = "unreadable", ["no_code"]
            else:
                key = (job.serial, job.page, _signature(job))
                if key in seen:
                    state, reasons, first = "duplicate", ["rescan"], seen[key]
                else:
                    seen[key] = (name, index)
                    state, reasons = "identified", []
                    if job.blackout in ("qr", "qr_layout"):
                        reasons.append("code_from_ocr")
                    if job.damage.feed_slip is not None:
                        reasons.append("doubtful_geometry")
            rows.append(_PageRow(name, index, job, state, reasons, first))
    return rows


def _truth(test: Process, source: Process, ballots: list[BallotPlan], file_jobs: list[FileJob],
           reports: list[list[dict]], printed, mix: DeckMix, degrade: str, seed: int, count: int,
           out_dir: Path) -> dict:
    rows = _page_states(file_jobs, out_dir)
    flat_reports = [r for file_reports in reports for r in file_reports]
    ink_of: dict[tuple[int, int, int], dict] = {}
    pages_out = []
    by_serial: dict[int, list[dict]] = {}
    for row, report in zip(rows, flat_reports):
        job, name, index, state, reasons = row.job, row.file, row.index, row.state, row.reasons
        rescan_of = {"file": row.first[0], "index": row.first[1]} if row.first else None
        if job.content == "ballot":
            ink_of.setdefault((job.serial or 0, job.copy, job.page or 0), report.get("ink", {}))
            by_serial.setdefault(job.serial, []).append(  # type: ignore[arg-type]
                {"page": job.page, "copy": job.copy, "file": name, "index": index, "state": state})
        settings = job.photo.as_dict() if job.photo else job.settings.as_dict()  # type: ignore[union-attr]
        pages_out.append({
            "file": name, "index": index, "content": job.content, "serial": job.serial, "page": job.page,
            "kind": job.kind, "copy": job.copy, "state": state, "reasons": reasons, "rescan_of": rescan_of,
            "dpi": None if job.photo else job.settings.dpi,  # type: ignore[union-attr]
            "colour": bool(job.photo) or bool(job.settings and job.settings.colour),
            "bw": bool(job.settings and job.settings.bw_threshold is not None),
            "settings": settings, "damage": job.damage.as_dict(), "stains": report.get("stains", []),
            "corners_px": report.get("corners_px"), "size_px": report.get("size_px"),
        })

    def box_ink(sheet: SheetPlan, serial: int, pages: list[int]) -> dict[str, dict[str, list[float]]]:
        """Every box with ink in or around it, per page: [inside, ring] darkness shares."""
        out = {}
        for page in pages:
            found = ink_of.get((serial, sheet.copy, page))
            if found:
                out[str(page)] = found
        return out

    def marks_out(sheet: SheetPlan, serial: int) -> list[dict]:
        out = []
        for m in sheet.marks:
            measured = ink_of.get((serial, sheet.copy, m.page), {}).get(str(m.number))
            row = asdict(m)
            row["ink_share"], row["ring_share"] = (measured if measured else [None, None])
            out.append(row)
        return out

    ballots_out, tally = [], {q: {o: 0 for o in opts} for q, opts in _Planner.questions_of(test).items()}
    records, reasons_count = Counter(), Counter()
    for ballot in sorted(ballots, key=lambda b: b.serial):
        expected = expected_record(test, ballot)
        records[expected["status"]] += 1
        if expected["status"] == "review":
            reasons_count.update(expected["reasons"])
        else:
            for q, opts in expected["choices"].items():
                for o in opts:
                    tally[q][o] += 1
        original = ballot.sheets[0]
        behaviour = set(original.behaviour)
        if ballot.rescan:
            behaviour.add("rescan")
        if ballot.missing_pages:
            behaviour.add("missing_page")
        if ballot.feed_slip_page:
            behaviour.add("feed_slip")
        if len(ballot.sheets) > 1:
            behaviour.add("photocopied")
        copy = ballot.sheets[1] if len(ballot.sheets) > 1 else None
        ballots_out.append({
            "serial": ballot.serial, "code": ballot.code, "language": ballot.language,
            "large_print": ballot.large_print, "layout_hash": ballot.layout.layout_hash, "case": ballot.case,
            "behaviour": sorted(behaviour), "intent": original.intent, "marks": marks_out(original, ballot.serial),
            "comment": original.comment, "expected": expected,
            "box_ink": box_ink(original, ballot.serial, ballot.content_pages),
            "photocopy": None if copy is None else {"intent": copy.intent, "marks": marks_out(copy, ballot.serial),
                                                    "behaviour": list(copy.behaviour), "comment": copy.comment,
                                                    "box_ink": box_ink(copy, ballot.serial, ballot.content_pages)},
            "pages": by_serial.get(ballot.serial, []), "missing_pages": list(ballot.missing_pages),
        })
    layouts = {}
    for lang, large, layout, _ in printed:
        layouts[layout.layout_hash] = {"layout_id": layout.layout_id, "language": lang, "large_print": large,
                                       "pages": [p.kind for p in layout.pages]}
    page_states = Counter(p["state"] for p in pages_out)
    expected_pages = {s: page_states.get(s, 0) for s in ("identified", "skipped", "duplicate", "rejected",
                                                          "unreadable")}
    expected_pages["total"] = len(pages_out)
    return {
        "format": DECK_FORMAT,
        "generator": {"count": count, "degrade": degrade, "seed": seed, "mix": asdict(mix),
                      "level": asdict(LEVELS[degrade])},
        "process": {"source_id": source.id, "id": test.id, "kind": test.kind},
        "workspace": "workspace", "config_home": "config", "scans": "scans", "scan_order": SCAN_ORDER,
        "received": _received(test).isoformat(),
        "layouts": layouts,
        "ballots": ballots_out,
        "pages": pages_out,
        "files": [{"file": f.path.relative_to(out_dir / "scans").as_posix(), "format": f.format,
                   "pages": len(f.pages), "dpi": f.dpi or None} for f in file_jobs],
        "expected_pages": expected_pages,
        "expected_records": {"counted": records.get("counted", 0), "review": records.get("review", 0)},
        "expected_reasons": dict(sorted(reasons_count.items())),
        "expected_tally": tally,
    }
