"""Provisional until final: while a review is open, every output of `hybrid merge` says
VORLÄUFIG / PROVISIONAL — nicht in CONSUL eintragen (PDF pages large, README, workbook,
the names of the files to enter); `merge --final` refuses until nothing is open, and only
it writes unmarked files."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
from openpyxl import load_workbook

from hybrid import review
from hybrid.provisional import NOTICE_CONSUL
from hybrid.review import DecisionRequest
from paper_deck import Deck
from test_merge import BUDGET_TEXT, make_deck, numbers
from hybrid.states import MarkState

MARCH = __import__("datetime").date(2027, 3, 20)


def notice_sizes(path: Path) -> list[float]:
    """Per page: the largest font size of the characters of "VORLÄUFIG" in the notice (0 if absent)."""
    sizes = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            text = " ".join((page.extract_text() or "").split())
            found = [w["size"] for w in page.extract_words(extra_attrs=["size"]) if w["text"].startswith("VORLÄUFIG")]
            sizes.append(max(found) if found and NOTICE_CONSUL.split(" —")[0] in text else 0.0)
    return sizes


def budget_with_open_review(tmp_path: Path) -> tuple[Deck, int]:
    deck = make_deck(tmp_path, BUDGET_TEXT)
    by_id = {it.option: it.number for it in deck.process.items()}
    fine, over = deck.issue(2)
    deck.scan_ballot(fine, {by_id["131"]: MarkState.MARKED, by_id["141"]: MarkState.MARKED}, received=MARCH)
    deck.scan_ballot(over, {by_id[i]: MarkState.MARKED for i in ("133", "142", "169", "159")}, received=MARCH)
    return deck, over


def test_every_output_is_marked_while_a_review_is_open_and_none_after_final(tmp_path: Path, run_cli):
    deck, over = budget_with_open_review(tmp_path)
    record = deck.record_of(over)
    deck.store.close()
    out = tmp_path / "out"

    refused = run_cli("-C", deck.root, "merge", "--final", "-o", out)
    assert refused.code == 1
    assert "refused" in refused.output and f"r{record} (#{over})" in refused.output
    assert not out.exists()  # nothing written

    provisional = run_cli("-C", deck.root, "merge", "-o", out)
    assert provisional.code == 1 and NOTICE_CONSUL in provisional.output
    assert "500.000 €" in provisional.output and "max_ballot_lines" in provisional.output  # the checklist
    consul = out / "consul"
    assert sorted(p.name for p in consul.glob("*.txt")) == ["README.txt", "VORLAEUFIG-ballot-sheet-Papier-001.txt"]
    readme = (consul / "README.txt").read_text(encoding="utf-8")
    assert readme.splitlines()[1] == f"!! {NOTICE_CONSUL}" and f"r{record} (#{over})" in readme
    for pdf in (consul / "entry-sheet.pdf", out / "report.pdf"):
        sizes = notice_sizes(pdf)
        assert sizes and all(size >= 14 for size in sizes), (pdf.name, sizes)  # every page, large
    book = load_workbook(out / "results.xlsx", read_only=True)
    for sheet in book.worksheets:
        first = next(sheet.iter_rows(values_only=True))
        assert first[0] == NOTICE_CONSUL, sheet.title

    # A person decides; --final now writes the files to enter, unmarked, and removes the marked ones.
    from hybrid.definition_file import load_process
    from hybrid.store import Store

    process = load_process(deck.root / "process.yaml")
    store = Store.open(deck.root, process.id)
    review.decide(store, process, f"r{record}", DecisionRequest("invalid"), "Anna Weber")
    store.close()
    final = run_cli("-C", deck.root, "merge", "--final", "-o", out)
    assert final.code == 0, final.output
    assert "FINAL" in final.output and "VORLÄUFIG" not in final.output
    assert sorted(p.name for p in consul.glob("*.txt")) == ["README.txt", "ballot-sheet-Papier-001.txt"]
    assert (consul / "ballot-sheet-Papier-001.txt").read_text() == "131,141"
    assert "VORLÄUFIG" not in (consul / "README.txt").read_text(encoding="utf-8")
    for pdf in (consul / "entry-sheet.pdf", out / "report.pdf"):
        assert not any(notice_sizes(pdf)), pdf.name
        with pdfplumber.open(pdf) as opened:
            assert all("VORLÄUFIG" not in (page.extract_text() or "") for page in opened.pages)
    book = load_workbook(out / "results.xlsx", read_only=True)
    assert next(book["Ergebnis"].iter_rows(values_only=True))[:3] == ("Nr.", "Frage", "Option")


def test_a_merge_with_nothing_open_is_still_provisional_until_final(tmp_path: Path):
    from hybrid.results.merge_outputs import write_merge

    deck = make_deck(tmp_path)
    serial = deck.issue(1)[0]
    deck.scan_ballot(serial, numbers(deck, ("q1", "a")))
    done = write_merge(deck.store, deck.process, tmp_path / "out")
    assert done.provisional is not None and done.provisional.open_items == ()
    consul = tmp_path / "out" / "consul"
    assert {p.name for p in consul.glob("*.csv")} == {"VORLAEUFIG-poll-12-results.csv",
                                                     "VORLAEUFIG-poll-12-recounts.csv"}
    assert "hybrid merge --final" in (consul / "README.txt").read_text(encoding="utf-8")
    done = write_merge(deck.store, deck.process, tmp_path / "out", final=True)
    assert done.provisional is None
    assert {p.name for p in consul.glob("*.csv")} == {"poll-12-results.csv", "poll-12-recounts.csv"}
    deck.store.close()


def test_unreadable_pages_keep_a_merge_from_being_final(tmp_path: Path):
    from hybrid.results.merge_outputs import NotFinal, write_merge

    deck = make_deck(tmp_path)
    deck.unreadable()
    try:
        write_merge(deck.store, deck.process, tmp_path / "out", final=True)
    except NotFinal as refused:
        assert refused.open_items == ("1 unreadable page(s) / unlesbare Seite(n)",)
    else:
        raise AssertionError("merge --final ran with an unreadable page open")
    deck.store.close()
