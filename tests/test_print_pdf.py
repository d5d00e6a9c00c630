"""The printed ballot, read back from the real PDFs (DESIGN §4, §5).

A workspace per example (`hybrid init --example poll|budget`) prints a few ballots in
every variant (de, en; normal and large print) through `hybrid print`. Every page is
rendered with pdfium at 150 DPI and its QR decoded with zxing-cpp; text and rectangles
come from pdfplumber. What the page shows must agree with the QR, the layout JSON, the
manifest and the store.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pytest
import zxingcpp

import cli
import forms.print_run
from forms.qr_draw import qr_matrix
from forms.texts import format_money
from hybrid.codes import EXAMPLE_CODE, format_code, is_valid_code
from hybrid.definition import Process
from hybrid.definition_file import load_process
from hybrid.layout import Layout, Rect
from hybrid.qr_payload import QrPayload, decode
from hybrid.store import STORE_FILE, Store

# Its module fixtures are built once: all of its tests run on one worker of `-n auto`.
pytestmark = pytest.mark.xdist_group("test_print_pdf")

DPI = 150
PT_PER_MM = 72 / 25.4
PX_PER_MM = DPI / 25.4
TOLERANCE_MM = 0.2
BALLOTS = 2
VARIANTS = [("de", False), ("en", False), ("de", True), ("en", True)]
BODY_BOTTOM_MM = 274.0  # the footer starts below this


# -- reading a PDF back --------------------------------------------------------------------


@dataclass(frozen=True)
class PageView:
    """What one rendered page says: its QR and the texts in the layout's fixed places."""

    index: int  # 0-based position in the PDF
    qr_text: str
    qr_ec_level: str
    payload: QrPayload
    qr_corners_mm: tuple[tuple[float, float], ...]  # top-left, top-right, bottom-right, bottom-left
    code_text: str | None  # text inside the layout's code_text rectangle
    serial_text: str
    layout_id_text: str
    text: str


@dataclass
class Run:
    example: str
    lang: str
    large_print: bool
    workspace: Path
    process: Process
    pdf_path: Path
    layout: Layout
    manifest: dict
    pdf: pdfplumber.PDF
    views: list[PageView]

    def layout_page(self, view: PageView):
        return self.layout.pages[view.payload.page - 1]


def mm_box(rect: Rect, pad: float = 0.0) -> tuple[float, float, float, float]:
    """A layout rectangle (mm, top-left origin) as a pdfplumber bbox in points."""
    return ((rect.x - pad) * PT_PER_MM, (rect.y - pad) * PT_PER_MM,
            (rect.x + rect.w + pad) * PT_PER_MM, (rect.y + rect.h + pad) * PT_PER_MM)


def text_within(page, x0: float, top: float, x1: float, bottom: float, pad: float = 0.3) -> str:
    """Text of the characters lying wholly inside the mm rectangle (widened by `pad`:
    a glyph drawn at x = 20 mm starts a hair left of it after rounding)."""
    bbox = ((x0 - pad) * PT_PER_MM, (top - pad) * PT_PER_MM, (x1 + pad) * PT_PER_MM, (bottom + pad) * PT_PER_MM)
    return page.within_bbox(bbox).extract_text() or ""


def one_line(text: str) -> str:
    return " ".join(text.split())


def read_qr(image: np.ndarray) -> tuple[str, str, tuple[tuple[float, float], ...]]:
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"expected one QR on the page, found {len(found)}"
    pos = found[0].position
    corners = tuple((p.x / PX_PER_MM, p.y / PX_PER_MM)
                    for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left))
    return found[0].text, found[0].ec_level, corners


def decoded_qr(page: pdfium.PdfPage) -> str:
    """The QR text of one rendered PDF page."""
    image = np.asarray(page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L"))
    return read_qr(image)[0]


def read_pdf(path: Path, layout: Layout) -> tuple[pdfplumber.PDF, list[PageView]]:
    rendered = pdfium.PdfDocument(str(path))
    plumber = pdfplumber.open(path)
    assert len(rendered) == len(plumber.pages)
    views = []
    for index, page in enumerate(plumber.pages):
        image = rendered[index].render(scale=DPI / 72, grayscale=True).to_numpy()
        if image.ndim == 3:
            image = image[..., 0]
        qr_text, ec_level, corners = read_qr(np.ascontiguousarray(image))
        payload = decode(qr_text)  # raises on any failed check
        lp = layout.pages[payload.page - 1]
        code = page.within_bbox(mm_box(lp.code_text, 0.3)).extract_text() if lp.code_text else None
        views.append(PageView(
            index=index, qr_text=qr_text, qr_ec_level=ec_level, payload=payload, qr_corners_mm=corners, code_text=code,
            serial_text=one_line(page.within_bbox(mm_box(lp.serial_text, 0.3)).extract_text()),
            layout_id_text=one_line(page.within_bbox(mm_box(lp.layout_id_text, 0.3)).extract_text()),
            text=page.extract_text(),
        ))
    rendered.close()
    return plumber, views


def hybrid(*args: object) -> None:
    assert cli.main([str(a) for a in args]) == 0, args


def find_run(workspace: Path, lang: str, large_print: bool) -> tuple[Path, Path, Path]:
    """(pdf, layout, manifest) of the workspace's print run in that variant."""
    for manifest_path in sorted((workspace / "out").glob("*.manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest["language"] == lang and manifest["large_print"] == large_print:
            assert len(manifest["files"]) == 1
            folder = manifest_path.parent
            return folder / manifest["files"][0]["file"], folder / manifest["layout_file"], manifest_path
    raise AssertionError(f"no {lang} large={large_print} run in {workspace}")


@contextmanager
def holding_the_wal(workspace: Path) -> Iterator[None]:
    """Keep a reader on the store, so SQLite keeps the -wal file (with every write since)
    until the test has read it: the last connection to close would fold it into hybrid.db."""
    with closing(sqlite3.connect(workspace / STORE_FILE)) as reader:
        reader.execute("SELECT COUNT(*) FROM meta").fetchone()
        yield


def files_except_pdfs(folder: Path) -> dict[Path, bytes]:
    found = {}
    for path in folder.rglob("*"):
        if path.suffix != ".pdf":
            try:
                found[path] = path.read_bytes()
            except (FileNotFoundError, IsADirectoryError):  # a folder, or -wal/-shm gone at checkpoint
                pass
    return found


@dataclass
class Sample:
    runs: dict[tuple[str, str, bool], Run]
    workspaces: dict[str, Path]
    config: Path  # XDG_CONFIG_HOME: the key folder lives under it
    snapshot: dict[Path, bytes]  # every file but the PDFs, right after printing (WAL included)

    def of(self, example: str) -> list[Run]:
        return [r for (e, _, _), r in self.runs.items() if e == example]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    """Both examples, each printed in all four variants (serials continue across the runs)."""
    config = tmp_path_factory.mktemp("sample-config")
    runs: dict[tuple[str, str, bool], Run] = {}
    workspaces: dict[str, Path] = {}
    snapshot: dict[Path, bytes] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(config))
        mp.delenv("HYBRID_SECRET", raising=False)
        for example in ("poll", "budget"):
            ws = tmp_path_factory.mktemp(f"sample-{example}") / "ws"
            workspaces[example] = ws
            hybrid("-C", ws, "init", "--example", example)
            with holding_the_wal(ws):
                for lang, large in VARIANTS:
                    hybrid("-C", ws, "print", "--count", BALLOTS, "--lang", lang,
                           *(["--large-print"] if large else []))
                snapshot.update(files_except_pdfs(ws))
            process = load_process(ws / "process.yaml")
            for lang, large in VARIANTS:
                pdf_path, layout_path, manifest_path = find_run(ws, lang, large)
                layout = Layout.from_json(layout_path.read_text(encoding="utf-8"))
                plumber, views = read_pdf(pdf_path, layout)
                runs[(example, lang, large)] = Run(
                    example, lang, large, ws, process, pdf_path, layout,
                    json.loads(manifest_path.read_text(encoding="utf-8")), plumber, views)
    snapshot.update(files_except_pdfs(config))
    yield Sample(runs, workspaces, config, snapshot)
    for run in runs.values():
        run.pdf.close()


RUN_IDS = [f"{e}-{lang}{'-large' if large else ''}" for e in ("poll", "budget") for lang, large in VARIANTS]
RUN_KEYS = [(e, lang, large) for e in ("poll", "budget") for lang, large in VARIANTS]


@pytest.fixture(params=RUN_KEYS, ids=RUN_IDS)
def run(request: pytest.FixtureRequest, sample: Sample) -> Run:
    return sample.runs[request.param]


# -- QR, page numbers, serials, codes ----------------------------------------------------------


def test_every_page_has_a_valid_qr_naming_process_page_and_serial(run: Run):
    pages = len(run.layout.pages)
    assert len(run.views) == BALLOTS * pages
    first = run.manifest["first_serial"]
    for view in run.views:
        p = view.payload
        assert p.process_id == run.process.id == run.layout.process
        assert p.layout_hash == run.layout.layout_hash == run.manifest["layout_hash"]
        assert (p.page, p.pages) == (view.index % pages + 1, pages)
        assert p.serial == first + view.index // pages
        footer = re.search(r"(?:Seite|Page) (\d+) (?:von|of) (\d+)", view.text)
        assert footer and (int(footer[1]), int(footer[2])) == (p.page, p.pages)


def test_qr_sits_upright_in_its_layout_corner(run: Run):
    for view in run.views:
        qr = run.layout_page(view).qr
        (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = view.qr_corners_mm
        assert abs(tlx - qr.x) < 1.0 and abs(tly - qr.y) < 1.0
        assert abs(brx - (qr.x + qr.w)) < 1.0 and abs(bry - (qr.y + qr.h)) < 1.0
        assert trx > tlx and bly > tly  # not rotated or mirrored
        assert qr.w >= 20.0
        assert view.qr_ec_level in ("M", "Q")  # DESIGN §5: error correction M or Q


def test_front_and_continuation_pages_carry_the_printed_code_and_backs_do_not(run: Run):
    kinds = [p.kind for p in run.layout.pages]
    assert len(kinds) % 2 == 0  # duplex: whole sheets
    content = kinds.count("front") + kinds.count("continuation")
    assert kinds == ["front"] + ["continuation"] * (content - 1) + ["back"] * (len(kinds) - content)
    for view in run.views:
        page = run.layout_page(view)
        if page.kind == "back":
            assert view.payload.code is None and view.payload.is_back
            assert page.code_text is None and view.code_text is None
        else:
            assert view.payload.code is not None
            assert re.fullmatch(r"\d{4} \d{4} \d{4}", view.code_text or ""), view.code_text
            assert view.code_text == format_code(view.payload.code)


def test_all_pages_of_a_ballot_share_one_code_and_ballots_have_distinct_codes(run: Run):
    codes: dict[int, set[str]] = {}
    for view in run.views:
        if view.payload.code is not None:
            codes.setdefault(view.payload.serial, set()).add(view.payload.code)
    assert len(codes) == BALLOTS
    assert all(len(c) == 1 for c in codes.values())
    assert len({next(iter(c)) for c in codes.values()}) == BALLOTS


def test_serial_and_layout_id_are_printed_in_their_boxes_on_every_page(run: Run):
    prefix = {"de": "Nr.", "en": "No."}[run.lang]
    for view in run.views:
        assert view.serial_text == f"{prefix} {view.payload.serial}"
        assert view.layout_id_text == run.layout.layout_id == run.manifest["layout_id"]
    assert run.layout.layout_id.endswith("-L") == run.large_print


def test_the_sms_example_is_a_made_up_code_and_the_voters_code_is_printed_once_per_page(run: Run):
    """Copying the printed SMS example must never cast a vote: its code fails the check
    digit. The voter's own code appears once on each page that carries it (the header),
    never in the example, and not at all on a back side."""
    sms_pages = 0
    code_of = {v.payload.serial: v.payload.code for v in run.views if v.payload.code}
    numbers = {it.number for it in run.process.items()}
    sms = run.process.channels.sms.number
    for view in run.views:
        own = format_code(code_of[view.payload.serial])
        flat = one_line(view.text)
        if view.payload.is_back:
            assert own not in flat
        else:
            assert flat.count(own) == 1, flat
        if sms in flat:
            sms_pages += 1
            example = re.search(r"(\d{4} \d{4} \d{4})((?: \d{1,2})+)\s*$", view.text, re.M)
            assert example and example[1] == EXAMPLE_CODE, view.text
            assert not is_valid_code(example[1].replace(" ", ""))
            assert {int(n) for n in example[2].split()} <= numbers
    assert sms_pages == BALLOTS


def test_nothing_is_drawn_within_four_modules_of_the_qr(run: Run):
    for view in run.views[: len(run.layout.pages)]:
        qr = run.layout_page(view).qr
        margin = 4 * qr.w / qr_matrix(view.qr_text).shape[0]
        zone = (qr.x - margin, qr.y - margin, qr.x + qr.w + margin, qr.y + qr.h + margin)
        page = run.pdf.pages[view.index]

        def mm(obj: dict) -> tuple[float, float, float, float]:
            return tuple(v / PT_PER_MM for v in (obj["x0"], obj["top"], obj["x1"], obj["bottom"]))

        def overlaps(b) -> bool:
            return b[0] < zone[2] and b[2] > zone[0] and b[1] < zone[3] and b[3] > zone[1]

        def module(b) -> bool:
            return (b[0] >= qr.x - 0.05 and b[1] >= qr.y - 0.05
                    and b[2] <= qr.x + qr.w + 0.05 and b[3] <= qr.y + qr.h + 0.15)

        intruders = [o.get("text", "rect") for o in page.chars + page.rects + page.lines + page.curves
                     if overlaps(mm(o)) and not module(mm(o))]
        assert intruders == []


# -- geometry: the layout JSON is what the PDF draws --------------------------------------------


def drawn_rects(page) -> list[dict]:
    """pdfplumber rectangles in mm: path edges plus the outer edge of a stroked outline."""
    rects = []
    for r in page.rects:
        half = (r["linewidth"] / PT_PER_MM) / 2 if r["stroke"] else 0.0
        path = tuple(r[k] / PT_PER_MM for k in ("x0", "top", "x1", "bottom"))
        outer = (path[0] - half, path[1] - half, path[2] + half, path[3] + half)
        rects.append({"path": path, "outer": outer, "fill": r["fill"], "stroke": r["stroke"]})
    return rects


def close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(abs(x - y) <= TOLERANCE_MM for x, y in zip(a, b, strict=True))


def edges(rect: Rect) -> tuple[float, float, float, float]:
    return (rect.x, rect.y, rect.x + rect.w, rect.y + rect.h)


def test_every_box_and_comment_field_is_drawn_where_the_layout_says(run: Run):
    boxes = comments = 0
    for view in run.views[: len(run.layout.pages)]:
        page = run.layout_page(view)
        rects = drawn_rects(run.pdf.pages[view.index])
        outlines = [r for r in rects if r["stroke"] and not r["fill"]]
        for box in page.boxes:
            matches = [r for r in outlines if close(r["outer"], edges(box))]
            assert len(matches) == 1, f"page {page.page} box {box.number}: no drawn square at {edges(box)}"
            assert close(matches[0]["path"][:2], (box.x, box.y))  # x0, top
            boxes += 1
        if page.comment is not None:
            assert any(close(r["path"], edges(page.comment)) for r in outlines), f"page {page.page}: comment field"
            comments += 1
    assert boxes == len(run.process.items())
    assert comments == 1  # both examples ask for a comment, once per ballot


def test_four_solid_corner_fiducials_on_every_page(run: Run):
    for view in run.views:
        page = run.layout_page(view)
        assert len(page.fiducials) == 4
        corners = {(f.x < 105, f.y < 148.5) for f in page.fiducials}
        assert len(corners) == 4  # one per corner
        solid = [r for r in drawn_rects(run.pdf.pages[view.index]) if r["fill"] and not r["stroke"]]
        finder = 7 * page.qr.w / qr_matrix(view.qr_text).shape[0]  # a QR finder pattern is 7 modules wide
        for fid in page.fiducials:
            assert fid.w == fid.h and abs(fid.w - finder) > 1.0
            assert sum(close(r["path"], edges(fid)) for r in solid) == 1


def test_box_sizes_follow_the_print_size(run: Run):
    smallest = 8.0 if run.large_print else 5.0
    sizes = [min(b.w, b.h) for p in run.layout.pages for b in p.boxes]
    assert sizes and min(sizes) >= smallest
    for view in run.views[: len(run.layout.pages)]:
        for box in run.layout_page(view).boxes:
            drawn = [r["outer"] for r in drawn_rects(run.pdf.pages[view.index]) if close(r["outer"], edges(box))]
            assert drawn and min(drawn[0][2] - drawn[0][0], drawn[0][3] - drawn[0][1]) >= smallest - TOLERANCE_MM


def test_layout_file_is_the_layout_stored_under_its_hash(run: Run):
    with closing(sqlite3.connect(run.workspace / STORE_FILE)) as db:
        body = db.execute("SELECT body FROM layouts WHERE layout_hash = ?", (run.layout.layout_hash,)).fetchone()
    assert body is not None and Layout.from_json(body[0]) == run.layout
    assert (run.layout.language, run.layout.large_print) == (run.lang, run.large_print)
    assert run.layout.page_size_mm == (210.0, 297.0)
    assert [p.page for p in run.layout.pages] == list(range(1, len(run.layout.pages) + 1))


# -- texts --------------------------------------------------------------------------------------


def ballot_text(run: Run) -> str:
    return one_line(" ".join(v.text for v in run.views[: len(run.layout.pages)]))


def row_text(run: Run, view: PageView, boxes: list, i: int) -> list[str]:
    """Lines of text beside box i: from its top to the next box on the page."""
    box = boxes[i]
    bottom = boxes[i + 1].y - 0.3 if i + 1 < len(boxes) else min(box.y + 40.0, BODY_BOTTOM_MM)
    page = run.pdf.pages[view.index]
    return text_within(page, box.x + box.w, box.y - 1.0, 190.5, bottom).splitlines()


def test_each_box_is_labelled_with_its_number_text_and_price(run: Run):
    items = {(it.question, it.option): it for it in run.process.items()}
    for view in run.views[: len(run.layout.pages)]:
        boxes = sorted(run.layout_page(view).boxes, key=lambda b: b.y)
        for i, box in enumerate(boxes):
            item = items[(box.question, box.option)]
            assert box.number == item.number
            lines = row_text(run, view, boxes, i)
            text = one_line(" ".join(lines))
            if item.price is not None:
                price = format_money(item.price, run.lang)
                assert lines[0].endswith(price), lines[0]  # on the box's line, right-aligned
                text = one_line(text.replace(price, "", 1))
            expected = f"{item.number} {run.process.text(item.text, run.lang)}"
            assert text.startswith(expected), (text, expected)


def test_question_texts_title_and_rules_are_in_the_ballots_language(run: Run):
    text = ballot_text(run)
    title = run.process.text(run.process.title, run.lang)
    header = text_within(run.pdf.pages[0], 19.0, 15.0, 97.0, 60.0)  # large print: up to three title lines
    assert title in one_line(header)
    if run.example == "poll":
        for q in run.process.questions:
            assert one_line(run.process.text(q.text, run.lang)) in text
    assert one_line(run.process.text(run.process.comment, run.lang)) in text
    other = "en" if run.lang == "de" else "de"
    for item in run.process.items():
        theirs, ours = run.process.text(item.text, other), run.process.text(item.text, run.lang)
        if theirs != ours and len(theirs) > 3:
            assert theirs not in text, f"{other} text on a {run.lang} ballot: {theirs}"
    marker = {"de": ["Stimmzettel", "Bitte bis 26.", "Datenschutz (Art. 13 DSGVO)"],
              "en": ["Ballot paper", "How to vote"]}[run.lang]
    for word in marker:
        assert word in one_line(" ".join(v.text for v in run.views))


def test_umlauts_and_prices_survive_into_the_pdf(sample: Sample):
    poll_de = ballot_text(sample.runs[("poll", "de", False)])
    for phrase in ("Bürgerbefragung", "Grünfläche", "Öffentliche Toiletten", "Spielgeräte für Kinder"):
        assert phrase in poll_de
    budget_de = ballot_text(sample.runs[("budget", "de", False)])
    for phrase in ("Trinkwasserbrunnen am Marktplatz", "18.000 €", "Öffentliche Toilette an der Talavera",
                   "180.000 €", "Streuobstwiese Oberdürrbach pflegen", "500.000 €"):
        assert phrase in budget_de
    budget_en = ballot_text(sample.runs[("budget", "en", True)])
    for phrase in ("Drinking fountain at the Marktplatz", "€18,000", "€180,000", "Grombühl"):
        assert phrase in budget_en


# -- the budget ballot ------------------------------------------------------------------------


@pytest.mark.parametrize("lang,large", VARIANTS)
def test_budget_lists_every_investment_once_over_several_pages(sample: Sample, lang: str, large: bool):
    run = sample.runs[("budget", lang, large)]
    content = [p for p in run.layout.pages if p.kind != "back"]
    assert len(content) >= 2
    assert [p.kind for p in content] == ["front"] + ["continuation"] * (len(content) - 1)
    boxes = [b for p in content for b in sorted(p.boxes, key=lambda b: b.y)]
    investments = run.process.budget.investments
    assert sorted(b.option for b in boxes) == sorted(i.id for i in investments)
    assert len({b.option for b in boxes}) == len(investments) == 34
    assert [b.number for b in boxes] == list(range(1, len(investments) + 1))
    assert [b.option for b in boxes] == [i.id for i in investments]
    assert {b.question for b in boxes} == {"budget"}
    assert all(p.boxes for p in content[:-1])  # no empty page between investments


# -- manifest, files and serial order -----------------------------------------------------------


def test_manifest_describes_the_pdf(run: Run):
    m = run.manifest
    pages = len(run.layout.pages)
    assert m["format"] == "hybrid-print-manifest/1"
    assert m["process"] == run.process.id
    assert (m["language"], m["large_print"], m["ballots"]) == (run.lang, run.large_print, BALLOTS)
    assert m["pages_per_ballot"] == pages
    assert m["last_serial"] - m["first_serial"] + 1 == BALLOTS
    [f] = m["files"]
    assert f["file"] == run.pdf_path.name
    assert f["sha256"] == hashlib.sha256(run.pdf_path.read_bytes()).hexdigest()
    assert (f["first_serial"], f["last_serial"]) == (m["first_serial"], m["last_serial"])
    assert f["pages"] == m["pages_per_ballot"] * f["ballots"] == len(run.views) == len(run.pdf.pages)
    assert "100 %" in m["print_instructions"]["en"] and "delete" in m["handling"]["en"]
    serials = [v.payload.serial for v in run.views]
    assert serials == sorted(serials)
    assert (serials[0], serials[-1]) == (m["first_serial"], m["last_serial"])


@pytest.mark.parametrize("example", ["poll", "budget"])
def test_serials_continue_across_print_runs_in_separate_files(sample: Sample, example: str):
    runs = sorted(sample.of(example), key=lambda r: r.manifest["first_serial"])
    assert runs[0].manifest["first_serial"] == 1
    for before, after in zip(runs, runs[1:]):
        assert after.manifest["first_serial"] == before.manifest["last_serial"] + 1
        assert after.manifest["run_id"] == before.manifest["run_id"] + 1
    assert len({r.pdf_path for r in runs}) == len(runs)
    for r in runs:  # later runs left the earlier files as they were
        assert hashlib.sha256(r.pdf_path.read_bytes()).hexdigest() == r.manifest["files"][0]["sha256"]
    with closing(sqlite3.connect(sample.workspaces[example] / STORE_FILE)) as db:
        serials = [s for (s,) in db.execute("SELECT serial FROM ballots ORDER BY serial")]
    assert serials == list(range(1, BALLOTS * len(runs) + 1))


def test_no_issued_code_is_kept_in_plain_outside_the_pdfs(sample: Sample):
    codes = {v.payload.code for r in sample.runs.values() for v in r.views if v.payload.code}
    assert len(codes) == BALLOTS * len(sample.runs)
    needles = [c.encode() for c in codes] + [format_code(c).encode() for c in codes]
    now = {**files_except_pdfs(sample.config)}
    for ws in sample.workspaces.values():
        now.update(files_except_pdfs(ws))
    for files in (sample.snapshot, now):
        names = {p.name for p in files}
        assert {STORE_FILE, "process.yaml"} <= names and any(n.endswith(".key") for n in names)
        assert any(n.endswith(".manifest.json") for n in names) and any(n.endswith(".layout.json") for n in names)
        for path, raw in files.items():
            leaked = [n.decode() for n in needles if n in raw]
            assert leaked == [], f"{path.name} holds issued codes in plain"
    assert any(p.name == STORE_FILE + "-wal" for p in sample.snapshot)  # the WAL was looked at too


def test_store_holds_each_code_as_its_keyed_hash(sample: Sample, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(sample.config))
    ws = sample.workspaces["budget"]
    store = Store.open(ws, "wue-bh-2027")
    try:
        for r in sample.of("budget"):
            for v in r.views:
                if v.payload.code:
                    row = store.ballot_by_code_hash(store.code_hash(v.payload.code))
                    assert row is not None and row.serial == v.payload.serial and row.state == "issued"
                    assert row.layout_hash == r.layout.layout_hash
    finally:
        store.close()


# -- single scenarios in their own workspace ------------------------------------------------------


def printed(workspace: Path, pdf: Path) -> list[PageView]:
    layout_path = pdf.parent / (re.sub(r"-\d{3}$", "", pdf.stem) + ".layout.json")
    layout = Layout.from_json(layout_path.read_text(encoding="utf-8"))
    plumber, views = read_pdf(pdf, layout)
    plumber.close()
    return views


def test_addresses_go_into_the_cover_letters_window_and_nowhere_else(tmp_path: Path, run_cli, isolated_config: Path):
    """An addressed run: per person a cover letter (address in the C4 window), then the
    ballot's sheets, which carry no part of any address; nothing of an address outside the PDF."""
    ws = tmp_path / "ws"
    people = [["Erika Müßig", "Domstraße 7", "97070", "Würzburg"],
              ["Jonas Übelhör", "Semmelstraße 12a", "97072", "Würzburg"],
              ["Zeynep Yıldırım", "Sanderring 4", "97070", "Würzburg"]]
    csv = tmp_path / "addresses.csv"  # outside the workspace, as staff would keep it
    csv.write_text("name,street,postcode,city\n" + "".join(",".join(p) + "\n" for p in people), encoding="utf-8")
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    with holding_the_wal(ws):
        result = run_cli("-C", ws, "print", "--addresses", csv, "-o", ws / "out-mail.pdf")
        assert result.code == 0, result.output
        leftovers = {**files_except_pdfs(ws), **files_except_pdfs(isolated_config)}
    pdf = ws / "out-mail.pdf"
    manifest = json.loads((ws / "out-mail.manifest.json").read_text(encoding="utf-8"))
    assert manifest["addressed"] is True and manifest["ballots"] == 3
    letter = manifest["cover_letter"]
    assert letter["pages"] == 2 and "C4" in letter["envelope"]["de"]
    ballot_pages = manifest["pages_per_ballot"]
    per_person = letter["pages"] + ballot_pages
    assert manifest["files"][0]["pages"] == 3 * per_person
    renderer = pdfium.PdfDocument(str(pdf))
    with pdfplumber.open(pdf) as plumber:
        assert len(plumber.pages) == 3 * per_person
        for n, person in enumerate(people):
            first = n * per_person
            front = plumber.pages[first]
            window = one_line(text_within(front, 20.0, 45.0, 105.0, 90.0))
            for line in (person[0], person[1], f"{person[2]} {person[3]}"):
                assert line in window, (line, window)
            others = [p[0] for p in people if p is not person]
            assert not any(o in one_line(front.extract_text()) for o in others)
            # the return-address line above the address stays inside the window
            sender = [c for c in front.chars if c["size"] < 9.0 and 45.0 < c["top"] / PT_PER_MM < 62.0]
            assert "Würzburg" in "".join(c["text"] for c in sender)
            assert max(c["x1"] for c in sender) / PT_PER_MM <= 105.0
            for index in range(first, first + letter["pages"]):  # the letter: its QR names no serial, no code
                payload = decode(decoded_qr(renderer[index]))
                assert payload.letter and payload.serial == 0 and payload.code is None
                assert payload.layout_hash == letter["layout_hash"]
            for index in range(first + letter["pages"], first + per_person):
                text = one_line(plumber.pages[index].extract_text())
                payload = decode(decoded_qr(renderer[index]))
                assert not payload.letter and payload.serial == n + 1
                for p in people:  # no part of any address on a ballot page
                    for part in (p[0], p[1], *p[0].split()):
                        assert part not in text, (part, index)
    renderer.close()
    needles = [value.encode() for p in people for value in (p[0], p[1])]
    leftovers.update(files_except_pdfs(ws))  # and once more after the store was closed
    assert {p.name for p in leftovers} >= {STORE_FILE, STORE_FILE + "-wal", "out-mail.manifest.json",
                                           "out-mail.layout.json"}
    for path, raw in leftovers.items():
        assert not any(n in raw for n in needles), f"an address is in {path.name}"


def test_replace_voids_the_old_ballot_and_prints_a_new_code(tmp_path: Path, run_cli, isolated_config: Path):
    ws = tmp_path / "ws"
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    assert run_cli("-C", ws, "print", "--count", 2, "--lang", "en", "--large-print", "-o", ws / "first.pdf").code == 0
    old = {v.payload.serial: v.payload.code for v in printed(ws, ws / "first.pdf") if v.payload.code}
    result = run_cli("-C", ws, "print", "--replace", 1)
    assert result.code == 0, result.output
    assert "Voided and replaced: 1" in result.out
    [pdf] = (ws / "out").glob("replacement-*.pdf")
    assert pdf.name == "replacement-en-large-000003.pdf"  # same variant as the ballot it replaces
    views = printed(ws, pdf)
    assert {v.payload.serial for v in views} == {3}
    [new_code] = {v.payload.code for v in views if v.payload.code}
    assert new_code not in old.values()
    manifest = json.loads(pdf.with_name("replacement-en-large-000003.manifest.json").read_text(encoding="utf-8"))
    assert manifest["replaces"] == [1] and manifest["large_print"] is True and manifest["language"] == "en"

    store = Store.open(ws, "wue-mainufer-2027")
    try:
        old_row, kept, new_row = store.ballot(1), store.ballot(2), store.ballot(3)
        assert (old_row.state, old_row.replaced_by, old_row.void_reason) == ("void", 3, "replaced")
        assert kept.state == "issued" and new_row.state == "issued"
        assert store.ballot_by_code_hash(store.code_hash(new_code)).serial == 3
        assert store.ballot_by_code_hash(store.code_hash(old[1])).state == "void"
    finally:
        store.close()

    again = run_cli("-C", ws, "print", "--replace", 1)
    assert again.code == 2 and "1" in again.err and "already void" in again.err
    first = run_cli("-C", ws, "void", 2, "--reason", "undeliverable")
    assert first.code == 0 and "Voided: 2" in first.out
    second = run_cli("-C", ws, "void", 2)
    assert second.code == 0 and "Already void: 2" in second.out and "Voided" not in second.out
    unknown = run_cli("-C", ws, "void", 99)
    assert unknown.code == 2 and "99" in unknown.err
    unknown = run_cli("-C", ws, "print", "--replace", 99)
    assert unknown.code == 2 and "99" in unknown.err
    store = Store.open(ws, "wue-mainufer-2027")
    try:
        assert (store.ballot(2).state, store.ballot(2).void_reason) == ("void", "undeliverable")
        assert store.ballot_counts() == {"void": 2, "issued": 1}
    finally:
        store.close()
    assert run_cli("-C", ws, "audit", "verify").code == 0


def test_a_large_run_is_split_into_numbered_files(tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(forms.print_run, "BALLOTS_PER_FILE", 3)
    ws = tmp_path / "ws"
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    result = run_cli("-C", ws, "print", "--count", 7, "-o", ws / "mailing.pdf")
    assert result.code == 0, result.output
    names = sorted(p.name for p in ws.iterdir() if p.name.startswith("mailing"))
    assert names == ["mailing-001.pdf", "mailing-002.pdf", "mailing-003.pdf",
                     "mailing.layout.json", "mailing.manifest.json"]
    manifest = json.loads((ws / "mailing.manifest.json").read_text(encoding="utf-8"))
    pages = manifest["pages_per_ballot"]
    assert (manifest["ballots"], manifest["first_serial"], manifest["last_serial"]) == (7, 1, 7)
    expected = [("mailing-001.pdf", 3, 1, 3), ("mailing-002.pdf", 3, 4, 6), ("mailing-003.pdf", 1, 7, 7)]
    assert [(f["file"], f["ballots"], f["first_serial"], f["last_serial"]) for f in manifest["files"]] == expected
    seen = []
    for f in manifest["files"]:
        path = ws / f["file"]
        assert f["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        views = printed(ws, path)
        assert f["pages"] == len(views) == f["ballots"] * pages
        serials = [v.payload.serial for v in views]
        assert serials == [s for s in range(f["first_serial"], f["last_serial"] + 1) for _ in range(pages)]
        seen += serials
    assert seen == sorted(seen)
