"""`hybrid simulate`: the test deck staff run before a real count (DESIGN §6, §9).

The story: take a live process, make a deck of filled and scanned ballots in a
throwaway `-test` workspace with its own key, and check that the deck is what its truth
says — every page accounted for, the tally the sum of the counted intents, the marks
drawn as promised, scanner PDFs holding one full-page JPEG per page, photos that are
photos, and the same seed giving the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfminer.psparser import literal_name
from PIL import Image

from hybrid import rules
from hybrid.definition_file import load_process
from hybrid.errors import InvalidInput
from hybrid.layout import Rect
from hybrid.qr_payload import decode
from hybrid.states import MarkState, Reason, RecordState
from deck import degrade
from deck import fill
from deck.build import CASES, DeckMix, deck_environment, simulated_process_id, simulate_deck

# Its module fixtures are built once: all of its tests run on one worker of `-n auto`.
pytestmark = pytest.mark.xdist_group("test_simulate")

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
POLL = load_process(EXAMPLES / "poll.yaml")
BUDGET = load_process(EXAMPLES / "budget.yaml")
SPECIAL = [c for c in CASES if c != "valid"]


def every_case(count: int) -> DeckMix:
    """A mix where each special case that fits the process happens once in `count` ballots."""
    share = 1.0 / count
    return DeckMix(**{c: share for c in SPECIAL}, rescan=2 * share, comment=0.3, doodle=0.3, large_print=0.15,
                   blank_pages=share, foreign_pages=share)


@pytest.fixture(scope="module")
def config_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's key folder while the decks are made: it must stay empty."""
    return tmp_path_factory.mktemp("real-config")


def make_deck(tmp_path_factory, config_home: Path, process, name: str, **kw):
    out = tmp_path_factory.mktemp(name) / "deck"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(config_home))
        mp.delenv("HYBRID_SECRET", raising=False)
        summary = simulate_deck(process, out, **kw)
        assert os.environ["XDG_CONFIG_HOME"] == str(config_home)  # the caller's environment is back
        assert "HYBRID_SECRET" not in os.environ
    return out, summary, json.loads((out / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def poll_deck(tmp_path_factory, config_home):
    """16 poll ballots, moderate damage, every special case once."""
    return make_deck(tmp_path_factory, config_home, POLL, "poll-deck", count=16, degrade="moderate", seed=5,
                     mix=every_case(16), workers=2)


@pytest.fixture(scope="module")
def budget_deck(tmp_path_factory, config_home):
    """14 budget ballots (four pages each), heavy damage, every special case once."""
    return make_deck(tmp_path_factory, config_home, BUDGET, "budget-deck", count=14, degrade="heavy", seed=8,
                     mix=every_case(14), workers=2)


DECKS = ["poll_deck", "budget_deck"]


# -- reading the deck back --------------------------------------------------------------------------


def page_images(path: Path) -> list[np.ndarray]:
    """Every page of a scan file as the reader would get it (grey)."""
    if path.suffix == ".pdf":
        pdf = pdfium.PdfDocument(str(path))
        try:
            return [pdf[i].render(scale=150 / 72, grayscale=True).to_numpy() for i in range(len(pdf))]
        finally:
            pdf.close()
    if path.suffix == ".tif":
        image = Image.open(path)
        frames = []
        for i in range(image.n_frames):
            image.seek(i)
            frames.append(np.array(image.convert("L")))
        return frames
    return [cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)]


def qr_payloads(image: np.ndarray) -> list[str]:
    image = np.ascontiguousarray(image)
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [b.text for b in found if b.text.startswith("HY1:")]


# -- the throwaway workspace ------------------------------------------------------------------------


def test_the_deck_lives_in_its_own_test_workspace_with_its_own_key(poll_deck, config_home):
    out, summary, truth = poll_deck
    assert summary.process_id == truth["process"]["id"] == "wue-mainufer-2027-test"
    assert truth["process"]["source_id"] == POLL.id
    ws = out / "workspace"
    assert load_process(ws / "process.yaml").id.endswith("-test")
    with closing(sqlite3.connect(ws / "hybrid.db")) as db:
        meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
        assert meta["process_id"] == "wue-mainufer-2027-test"
        assert db.execute("SELECT COUNT(*) FROM ballots").fetchone()[0] == 16
    key = out / "config" / "hybrid" / "wue-mainufer-2027-test.key"
    assert key.stat().st_size == 32 and key.stat().st_mode & 0o777 == 0o600
    assert deck_environment(out) == {"XDG_CONFIG_HOME": str((out / "config").resolve())}
    assert not any(config_home.iterdir()), "the user's key folder was touched"
    # The printed ballots carry the test id, so a live workspace rejects them.
    first = out / "scans" / truth["pages"][0]["file"]
    ids = {decode(t).process_id for image in page_images(first) for t in qr_payloads(image)}
    assert ids == {"wue-mainufer-2027-test"}


def test_a_test_process_keeps_its_id_and_long_ids_stay_valid():
    assert simulated_process_id("wue-bh-2027") == "wue-bh-2027-test"
    assert simulated_process_id("wue-bh-2027-test") == "wue-bh-2027-test"
    long_id = "a" * 39 + "b"
    assert simulated_process_id(long_id) == "a" * 35 + "-test" and len(simulated_process_id(long_id)) <= 40


def test_a_non_empty_folder_or_unknown_level_is_refused(tmp_path: Path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        simulate_deck(POLL, tmp_path, count=2, degrade="light", seed=1)
    with pytest.raises(InvalidInput, match="--degrade"):
        simulate_deck(POLL, tmp_path / "new", count=2, degrade="awful", seed=1)
    with pytest.raises(InvalidInput, match="--count"):
        simulate_deck(POLL, tmp_path / "new", count=0, degrade="light", seed=1)


def test_mix_is_read_from_the_command_line_form():
    mix = DeckMix.parse("overvote=0.1, rescan=0.25")
    assert mix.overvote == 0.1 and mix.rescan == 0.25 and mix.blank == DeckMix().blank
    with pytest.raises(InvalidInput, match="unknown"):
        DeckMix.parse("overvotes=0.1")
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        DeckMix.parse("blank=2")
    assert {f.name for f in fields(DeckMix)} >= set(SPECIAL)


# -- the truth ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("deck", DECKS)
def test_expected_tally_is_the_sum_of_the_counted_choices(deck, request):
    _, summary, truth = request.getfixturevalue(deck)
    tally: dict[str, Counter] = {q: Counter() for q in truth["expected_tally"]}
    for ballot in truth["ballots"]:
        expected = ballot["expected"]
        if expected["status"] == "counted":
            assert expected["choices"] == ballot["intent"], ballot["serial"]  # nothing in doubt: as meant
            for q, options in expected["choices"].items():
                tally[q].update(options)
        else:
            assert expected["status"] == "review" and expected["reasons"]
    assert {q: {o: tally[q][o] for o in opts} for q, opts in truth["expected_tally"].items()} == \
        truth["expected_tally"]
    assert summary.outcomes == truth["expected_records"]
    assert sum(truth["expected_records"].values()) == len(truth["ballots"]) == summary.ballots


@pytest.mark.parametrize("deck", DECKS)
def test_every_special_case_is_in_the_deck_with_its_reason(deck, request):
    _, _, truth = request.getfixturevalue(deck)
    by_case = {b["case"]: b for b in truth["ballots"]}
    kind = truth["process"]["kind"]
    expected_reason = {
        "overvote": "overvote", "over_budget": "over_budget", "cancelled_only": "cancelled_only",
        "faint_pencil": "marginal_mark", "circle_outside": "mark_outside_box", "tick_beside": "mark_outside_box",
        "photocopy": "photocopy", "unreadable": "no_code",
        "missing_page": "missing_page", "feed_slip": "doubtful_geometry",
    }
    for case, reason in expected_reason.items():
        if (case, kind) in (("overvote", "budget"), ("over_budget", "poll")):
            continue
        assert case in by_case, case
        assert by_case[case]["expected"]["status"] == "review" and reason in by_case[case]["expected"]["reasons"]
    assert by_case["spoilt"]["expected"]["status"] == "review"
    # The QR alone lost: the printed code passes every check and counts (code_from_ocr as information).
    assert "code_from_ocr" in by_case["qr_damaged"]["expected"]["reasons"]
    assert by_case["qr_damaged"]["expected"]["status"] in ("counted", "review")
    assert by_case["blank"]["expected"] == {"status": "counted", "reasons": ["blank_ballot"], "choices": {}}
    correction = by_case["correction"]
    assert correction["expected"]["status"] == "counted"
    assert any(m["expect"] == "cancelled" for m in correction["marks"])
    assert any(b["behaviour"].count("rescan") for b in truth["ballots"])


@pytest.mark.parametrize("deck", DECKS)
def test_every_page_written_is_accounted_for(deck, request):
    out, summary, truth = request.getfixturevalue(deck)
    scans = out / "scans"
    on_disk = sorted(p.name for p in scans.iterdir())
    assert on_disk == sorted(f["file"] for f in truth["files"])
    listed = Counter(p["file"] for p in truth["pages"])
    for name in on_disk:
        assert len(page_images(scans / name)) == listed[name], name
    assert [p["index"] for p in truth["pages"] if p["file"] == on_disk[0]] == list(range(1, listed[on_disk[0]] + 1))
    states = Counter(p["state"] for p in truth["pages"])
    assert truth["expected_pages"] == {**{s: states.get(s, 0) for s in ("identified", "skipped", "duplicate",
                                                                     "rejected", "unreadable")},
                                       "total": len(truth["pages"])} == summary.pages
    position = {(p["file"], p["index"]): i for i, p in enumerate(truth["pages"])}
    identified = set()
    for i, page in enumerate(truth["pages"]):  # the page rules, in scan order
        if page["content"] == "blank":
            assert (page["state"], page["reasons"]) == ("skipped", ["blank_page"])
        elif page["content"] == "foreign":
            assert (page["state"], page["reasons"]) == ("rejected", ["not_a_ballot"])
        elif page["kind"] == "back":
            assert page["state"] == "skipped"
        elif page["state"] == "duplicate":  # the same sheet page again: after its first scan
            first = truth["pages"][position[(page["rescan_of"]["file"], page["rescan_of"]["index"])]]
            assert position[(first["file"], first["index"])] < i and first["state"] == "identified"
            assert (first["serial"], first["page"]) == (page["serial"], page["page"])
        elif page["state"] == "identified":
            key = (page["serial"], page["copy"], page["page"])
            assert key not in identified
            identified.add(key)
    # Every content page of every ballot is somewhere, unless it is the one that went missing.
    for ballot in truth["ballots"]:
        kinds = truth["layouts"][ballot["layout_hash"]]["pages"]
        content = {i + 1 for i, k in enumerate(kinds) if k != "back"}
        scanned = {p["page"] for p in ballot["pages"] if p["copy"] == 0}
        assert content - scanned == set(ballot["missing_pages"]), ballot["serial"]
    assert states["duplicate"] >= 1 and states["unreadable"] >= 1 and states["rejected"] >= 1


@pytest.mark.parametrize("deck", DECKS)
def test_truth_agrees_with_the_rules_module(deck, request):
    """The deck's own oracle and hybrid.rules decide every ballot alike (the rules do not
    see no_code: that ballot has no record until a person identifies its page)."""
    out, _, truth = request.getfixturevalue(deck)
    process = load_process(out / "workspace" / "process.yaml")
    state_of = {"marked": MarkState.MARKED, "marginal": MarkState.MARGINAL, "cancelled": MarkState.CANCELLED,
                "outside": MarkState.EMPTY}
    for ballot in truth["ballots"]:
        marks = {(m["question"], m["option"]): state_of[m["expect"]] for m in ballot["marks"]}
        boxes = tuple(rules.MarkedBox(it.question, it.option, marks.get((it.question, it.option), MarkState.EMPTY))
                      for it in process.items())
        page_reasons = {Reason(r) for r in ballot["expected"]["reasons"]} & {
            Reason.CODE_FROM_OCR, Reason.DOUBTFUL_GEOMETRY}
        if any(m["expect"] == "outside" for m in ballot["marks"]):
            page_reasons.add(Reason.MARK_OUTSIDE_BOX)
        kinds = truth["layouts"][ballot["layout_hash"]]["pages"]
        content = frozenset(i + 1 for i, k in enumerate(kinds) if k != "back")
        decision = rules.decide_paper(process, rules.PaperBallot(
            pages_expected=len(content), pages_present=content - set(ballot["missing_pages"]),
            content_pages=content, boxes=boxes, page_reasons=frozenset(page_reasons),
            photocopy=ballot["photocopy"] is not None,
            ocr_code_trusted="layout_id_blacked_out" not in ballot["behaviour"]))
        expected = ballot["expected"]
        assert decision.state is RecordState(expected["status"]) or "no_code" in expected["reasons"]
        assert sorted(r.value for r in decision.reasons) == [r for r in expected["reasons"] if r != "no_code"]
        assert {q: list(o) for q, o in decision.choices.items()} == expected["choices"]


@pytest.mark.parametrize("deck", DECKS)
def test_marks_on_paper_are_what_the_truth_says(deck, request):
    """Measured before scanning: a mark is ink in its box, a correction a filled box,
    faint pencil light, a circle or tick beside ink only around the box; boxes nobody
    marked stay clean."""
    _, _, truth = request.getfixturevalue(deck)
    for ballot in truth["ballots"]:
        sheets = [ballot] + ([ballot["photocopy"]] if ballot["photocopy"] else [])
        for sheet in sheets:
            marked = set()
            for m in sheet["marks"]:
                marked.add((str(m["page"]), str(m["number"])))
                inside, ring = m["ink_share"], m["ring_share"]
                if sheet is ballot and m["page"] in ballot["missing_pages"]:
                    assert inside is None  # never scanned, never measured
                    continue
                if m["expect"] == "marked":
                    assert inside >= 0.04, m
                elif m["expect"] == "marginal":
                    assert 0.005 <= inside <= 0.06, m
                elif m["expect"] == "cancelled":
                    assert inside >= 0.7, m
                else:
                    assert inside < 0.005 and ring >= 0.01, m
            for page, boxes in sheet["box_ink"].items():
                for number, (inside, ring) in boxes.items():
                    if (page, number) not in marked:
                        assert inside < 0.005, (ballot["serial"], page, number, inside)


def test_pdf_scans_embed_one_full_page_jpeg_per_page(poll_deck, budget_deck):
    pdfs = [out / "scans" / f["file"] for out, _, truth in (poll_deck, budget_deck)
            for f in truth["files"] if f["format"] == "pdf"]
    assert pdfs
    for path in pdfs:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                assert len(page.images) == 1, path
                image = page.images[0]
                assert [literal_name(f) for f, _ in image["stream"].get_filters()] == ["DCTDecode"]
                assert abs(image["x0"]) < 0.5 and abs(image["top"]) < 0.5
                assert abs(image["x1"] - page.width) < 0.5 and abs(image["bottom"] - page.height) < 0.5
                data = image["stream"].get_rawdata()
                pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
                assert pixels.shape[:2] == (image["srcsize"][1], image["srcsize"][0])
                assert abs(page.height / page.width - 297 / 210) < 0.01  # an A4 scan


# -- determinism --------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_deck_to_the_byte(tmp_path_factory, config_home):
    mix = DeckMix(rescan=0.5, photocopy=0.2, comment=0.5, doodle=0.5, blank_pages=0.3, foreign_pages=0.3)
    decks = [make_deck(tmp_path_factory, config_home, POLL, f"same-{w}", count=5, degrade="light", seed=42,
                       mix=mix, workers=w) for w in (1, 2)]
    other = make_deck(tmp_path_factory, config_home, POLL, "other", count=5, degrade="light", seed=43, mix=mix,
                      workers=2)

    def digests(out: Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "scans").iterdir())}

    (a, _, truth_a), (b, _, truth_b), (c, _, truth_c) = decks + [other]
    assert (a / "truth.json").read_bytes() == (b / "truth.json").read_bytes()
    assert digests(a) == digests(b) and len(digests(a)) >= 3
    assert truth_a["ballots"][0]["code"] == truth_b["ballots"][0]["code"]
    assert [x["code"] for x in truth_a["ballots"]] != [x["code"] for x in truth_c["ballots"]]
    assert digests(a) != digests(c)


# -- each level of damage -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def level_decks(tmp_path_factory, config_home):
    made = {}
    for level in degrade.LEVELS:
        for name, process in (("poll", POLL), ("budget", BUDGET)):
            made[(level, name)] = make_deck(tmp_path_factory, config_home, process, f"{level}-{name}",
                                            count=2 if level == "photo" else 3, degrade=level, seed=17,
                                            mix=DeckMix())
    return made


@pytest.mark.parametrize("level", list(degrade.LEVELS))
def test_each_level_keeps_every_ballot_qr_readable(level, level_decks):
    for name in ("poll", "budget"):
        out, _, truth = level_decks[(level, name)]
        assert truth["generator"]["degrade"] == level
        by_file: dict[str, list[dict]] = {}
        for page in truth["pages"]:
            by_file.setdefault(page["file"], []).append(page)
        for file, pages in by_file.items():
            images = page_images(out / "scans" / file)
            for page in pages:
                if page["content"] != "ballot" or page["state"] == "unreadable" or "code_from_ocr" in page["reasons"]:
                    continue
                texts = qr_payloads(images[page["index"] - 1])
                assert len(texts) == 1, (level, name, file, page["index"])
                payload = decode(texts[0])
                assert (payload.serial, payload.page) == (page["serial"], page["page"])


def test_light_scans_stay_close_to_the_printed_page(level_decks):
    out, _, truth = level_decks[("light", "poll")]
    for page in truth["pages"]:
        assert page["settings"]["dpi"] in (200, 300) and page["settings"]["bw_threshold"] is None
        assert abs(page["damage"]["skew_deg"]) <= 0.7 and abs(page["damage"]["scale"] - 1) <= 0.005
        (x0, y0), (x1, _), _, (_, y3) = page["corners_px"]
        w, h = page["size_px"]
        if not page["damage"]["upside_down"]:
            assert abs(x0) < 0.01 * w and abs(y0) < 0.01 * h and abs((x1 - x0) - w) < 0.01 * w


def test_photos_are_larger_than_the_page_and_in_perspective(level_decks):
    for name in ("poll", "budget"):
        out, _, truth = level_decks[("photo", name)]
        assert {f["format"] for f in truth["files"]} == {"photo"}
        for page in truth["pages"]:
            photo = cv2.imread(str(out / "scans" / page["file"]))
            h, w = photo.shape[:2]
            assert 2500 <= h <= 3200 and [w, h] == page["size_px"]
            quad = np.array(page["corners_px"], dtype=np.float32)
            assert quad[:, 0].min() > 0 and quad[:, 1].min() > 0 and quad[:, 0].max() < w and quad[:, 1].max() < h
            area = cv2.contourArea(quad)
            assert 0.35 * w * h < area < 0.85 * w * h  # the page, with table all around it
            top, bottom = np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])
            left, right = np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])
            rectangle = cv2.getPerspectiveTransform(quad, np.float32([[0, 0], [1, 0], [1, 1], [0, 1]]))
            assert abs(top - bottom) > 1 or abs(left - right) > 1 or abs(rectangle[2, :2]).max() > 1e-7
            # The page is the large bright shape; the table around it is darker.
            grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
            inside = np.zeros_like(grey)
            cv2.fillConvexPoly(inside, quad.astype(np.int32), 1)
            assert grey[inside == 1].mean() > grey[inside == 0].mean() + 40
            if page["content"] == "ballot":
                _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
                contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                found = cv2.approxPolyDP(max(contours, key=cv2.contourArea), 0.02 * h, True).reshape(-1, 2)
                assert len(found) == 4
                for corner in quad:  # the truth's corners are where the page is
                    assert np.linalg.norm(found - corner, axis=1).min() < 0.02 * h


# -- the pieces ---------------------------------------------------------------------------------------


def blank_sheet(dpi: float = 200) -> fill.Sheet:
    return fill.Sheet(np.full((int(60 * dpi / 25.4), int(60 * dpi / 25.4)), 255, np.uint8), dpi)


def test_the_same_generator_draws_the_same_marks():
    box = Rect(x=20, y=20, w=6, h=6)
    images = []
    for _ in range(2):
        sheet = blank_sheet()
        rng = np.random.default_rng(3)
        for style in fill.MARKS:
            fill.draw_mark(sheet, style, box, fill.BLUE_BALLPOINT, rng)
        images.append(sheet.image)
    assert np.array_equal(images[0], images[1]) and images[0].min() < 100


@given(st.integers(0, 2**32 - 1), st.sampled_from([6.0, 9.0]), st.sampled_from(["circle_outside", "tick_beside"]))
@settings(max_examples=40, deadline=None)
def test_ink_beside_a_box_stays_in_its_ring_and_out_of_the_box(seed, side, style):
    sheet = blank_sheet(300)
    box = Rect(x=25, y=25, w=side, h=side)
    before = sheet.image.copy()
    fill.draw_mark(sheet, style, box, fill.BLACK_BALLPOINT, np.random.default_rng(seed))
    assert fill.ink_in_box(before, sheet.image, box, 300, inset_mm=0.0) < 0.002
    assert fill.ink_in_ring(before, sheet.image, box, 300) > 0.01
    ys, xs = np.nonzero(sheet.image < 200)
    ppm = 300 / 25.4
    outer = Rect(x=box.x - 4.3, y=box.y - 4.3, w=box.w + 8.6, h=box.h + 8.6)
    assert xs.min() >= outer.x * ppm and xs.max() <= (outer.x + outer.w) * ppm
    assert ys.min() >= outer.y * ppm and ys.max() <= (outer.y + outer.h) * ppm


@given(st.integers(0, 2**32 - 1), st.sampled_from(list(degrade.LEVELS)), st.booleans())
@settings(max_examples=60, deadline=None)
def test_the_scanner_never_loses_a_corner_square(seed, level, slip):
    rng = np.random.default_rng(seed)
    damage = degrade.sample_sheet_damage(degrade.LEVELS[level], rng, feed_slip=slip)
    squares = [Rect(x=x, y=y, w=8, h=8) for x in (10, 192) for y in (10, 279)]
    if damage.feed_slip:
        at, f = damage.feed_slip.at_mm, damage.feed_slip.factor
        squares = [s if s.y < at else Rect(x=s.x, y=at + (s.y - at) * f, w=8, h=8 * f) for s in squares]
    dpi = 150
    shape = (int(297 * dpi / 25.4), int(210 * dpi / 25.4))
    m = degrade.sheet_transform(shape, dpi, damage, squares)
    pts = np.array([[s.x + dx, s.y + dy] for s in squares for dx in (0, s.w) for dy in (0, s.h)]) * dpi / 25.4
    moved = pts @ m[:, :2].T + m[:, 2]
    margin = 1.49 * dpi / 25.4
    assert moved.min() >= margin and moved[:, 0].max() <= shape[1] - margin and moved[:, 1].max() <= shape[0] - margin


def test_a_quarter_of_heavy_trays_have_dirty_drum_streaks_and_no_other_level_has_any():
    rng = np.random.default_rng(4)
    trays = [degrade.sample_scan_settings(degrade.LEVELS["heavy"], rng) for _ in range(400)]
    streaked = [t for t in trays if t.streaks]
    assert 0.18 < len(streaked) / len(trays) < 0.32
    assert {len(t.streaks) for t in streaked} == {1, 2, 3}
    assert {s.width_px for t in streaked for s in t.streaks} == {1, 2, 3}
    levels = [s.level for t in streaked for s in t.streaks]
    assert 0 in levels and all(s == 0 or 40 <= s <= 130 for s in levels) and max(levels) > 40
    for name in ("light", "moderate", "photo"):
        assert not any(degrade.sample_scan_settings(degrade.LEVELS[name], rng).streaks for _ in range(200))


def test_a_drum_streak_is_a_straight_line_down_the_whole_skewed_scan():
    dpi = 150
    page = np.full((int(297 * dpi / 25.4), int(210 * dpi / 25.4)), 255, np.uint8)
    streak = degrade.DrumStreak(x=0.4, width_px=2, level=0)
    settings = degrade.ScanSettings(dpi=dpi, colour=False, jpeg_quality=50, noise=3.0, blur_mm=0.08,
                                    paper_white=230, ink_black=30, streaks=(streak,))
    damage = degrade.SheetDamage(skew_deg=2.5, shift_mm=(3.0, 2.0))
    out, _ = degrade.scan(page, dpi, settings, damage, np.random.default_rng(1))
    x0 = int(0.4 * out.shape[1])
    column_means = out.mean(axis=0)
    assert column_means[x0:x0 + 2].max() < 45  # black (the scanner's black) in every row
    assert column_means[x0 - 3] > 200 and column_means[x0 + 4] > 200  # and nowhere beside it
    plain, _ = degrade.scan(page, dpi, degrade.ScanSettings(**{**settings.as_dict(), "streaks": ()}), damage,
                            np.random.default_rng(1))
    assert np.count_nonzero(out != plain) <= 2 * out.shape[0]  # the streak's columns only


def test_scanner_noise_and_tone_keep_their_level_and_spread():
    page = np.full((800, 600), 255, np.uint8)
    page[:, 300:] = 0
    settings = degrade.ScanSettings(dpi=150, colour=False, jpeg_quality=50, noise=6.0, blur_mm=0.0,
                                    paper_white=228, ink_black=40)
    out, _ = degrade.scan(page, 150, settings, degrade.SheetDamage(), np.random.default_rng(2))
    paper, ink = out[20:-20, 20:280].astype(float), out[20:-20, 320:-20].astype(float)
    assert abs(paper.mean() - 228) < 0.1 and abs(ink.mean() - 40) < 0.1
    assert 5.0 < paper.std() < 7.0 and 5.0 < ink.std() < 7.0  # σ 6 after the ×1.45 and the smoothing


@given(st.lists(st.floats(20, 280), min_size=1, max_size=3))
def test_folds_are_moved_between_box_rows(folds):
    boxes = [Rect(x=22, y=y, w=6, h=6) for y in np.arange(100, 260, 9.6)]
    for y in degrade.move_folds_off_boxes(folds, boxes):
        assert not any(b.y - 0.8 <= y <= b.y + b.h + 0.8 for b in boxes)


# -- through the command line ------------------------------------------------------------------------


def test_hybrid_simulate_makes_a_deck_from_the_live_workspace(tmp_path: Path, run_cli, isolated_config: Path):
    ws = tmp_path / "live"
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    out = tmp_path / "deck"
    result = run_cli("-C", ws, "simulate", "--count", 2, "--degrade", "light", "--seed", 3, "-o", out)
    assert result.code == 0, result.output
    assert "wue-mainufer-2027-test" in result.out and "truth" in result.out
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert len(truth["ballots"]) == 2
    assert not (isolated_config / "hybrid" / "wue-mainufer-2027-test.key").exists()
    assert run_cli("-C", ws, "simulate", "--count", 2, "-o", out).code == 2  # never over an old deck
