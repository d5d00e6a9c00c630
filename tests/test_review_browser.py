"""The review page in a real headless Chromium (Debian's, driven by Playwright).

The story: a simulated batch is scanned; Anna opens her personal link, decides items with
the mouse and with the keyboard, identifies an unreadable page by its serial and checks
comments; Ben confirms her changed marks as the second reviewer; two people on one item
get a clear message. After each step the store, `effective_decision`, the merged tally
(`hybrid merge`) and `hybrid review list` must show what was decided. A screenshot of the page goes
to docs/review.png for the README.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from hybrid import review
from hybrid.states import RecordState

# Its module fixtures are built once: all of its tests run on one worker of `-n auto`.
pytestmark = pytest.mark.xdist_group("test_review_browser")

CHROMIUM = os.environ.get("HYBRID_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# The README's screenshot is refreshed only on request, so a test run never edits the work tree.
SCREENSHOT = (Path(__file__).resolve().parent.parent / "docs" / "review.png"
              if os.environ.get("HYBRID_UPDATE_SCREENSHOTS") else None)

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed (make test installs it): apt-get install chromium")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(review_workspace):
    """`hybrid review serve` on a free port of 127.0.0.1, in a thread; yields (base URL, tokens, store)."""
    import uvicorn

    from ocr.evidence_picture import draw
    from review.app import create_app

    ws = review_workspace
    store = ws.open_store()
    tokens = {name: review.issue_token(store, name) for name in ("Anna", "Ben")}
    app = create_app(ws.root, ws.process, ws.open_store, draw_evidence=draw)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", tokens, store, ws
    uv.should_exit = True
    thread.join(10)
    sock.close()
    store.close()


def open_as(browser, base: str, token: str, width: int = 1400, height: int = 940):
    """A reviewer's page in a fresh browser context of `width` × `height` px, logged in."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="de-DE")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/?token={token}")
    page.wait_for_selector("#item-title")
    page.errors = errors
    return page


def show(page, item_id: str) -> None:
    """Open an item with the mouse, from the queue."""
    page.click(f'#queue button[data-item="{item_id}"]')
    page.wait_for_selector(f'#item-title[data-item="{item_id}"]')


def wait_for(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def items_in(store, process, group: str | None = None, kind: str | None = None) -> list[review.ReviewItem]:
    return [i for i in review.list_items(store, process) if (group is None or i.group == group)
            and (kind is None or i.kind == kind)]


def tally(store, process) -> Counter:
    """The merged tally (`hybrid.merge.merge_records`): counted choices per (question, option)."""
    from hybrid.merge import merge_records

    return Counter({(row.question, row.option): row.total for row in merge_records(store, process).tally
                    if row.total})


def page_items_by_truth(store, process, truth) -> dict[tuple[int, int], str]:
    """(serial, ballot page) → item id of each unreadable page, from the deck's truth."""
    names = {Path(name).name: sha for sha, name in store.conn.execute("SELECT sha256, name FROM inputs")}
    found = {}
    for entry in truth["pages"]:
        if entry.get("state") == "unreadable":
            source = f"scan:{names[entry['file']]}#p{entry['index']}"
            found[(entry["serial"], entry["page"])] = review.page_item_id("p", source)
    return found


def test_review_with_mouse_keyboard_and_a_second_reviewer(browser, server, run_cli, monkeypatch):
    monkeypatch.setenv("HYBRID_LANG", "en")  # the CLI's words
    base, tokens, store, ws = server
    process = ws.process
    before = tally(store, process)
    anna = open_as(browser, base, tokens["Anna"])
    open_count = review.counts(review.list_items(store, process, include_decided=True))["open"]
    assert anna.get_attribute("#counter", "data-open") == str(open_count)

    # A screenshot for the README: a ballot with ink beside a box, outlined, scored and zoomed.
    beside = items_in(store, process, "mark_outside_box")[0]
    show(anna, beside.id)
    anna.wait_for_selector("#zooms canvas")
    anna.wait_for_load_state("networkidle")  # the crop is in (no eval: the page's CSP forbids it)
    shot = anna.screenshot(path=str(SCREENSHOT) if SCREENSHOT else None)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000  # a real rendered page
    assert anna.locator(".page-wrap svg.overlay rect.box").count() >= 10  # every box outlined
    assert anna.locator(".page-wrap svg.overlay image").count() == len(review.item_detail(store, process, beside.id, ws.root).pages)

    # Mouse: accept an overvoted ballot as read; its overvoted question stays invalid.
    over = items_in(store, process, "overvote")[0]
    show(anna, over.id)
    anna.click('#actions button[data-action="accept"]')
    decided = wait_for(lambda: (e := review.effective_decision(store, process, over.record_id)).by_review and e,
                       "the accept decision")
    assert decided.reviewer == "Anna" and decided.invalid_questions  # an overvote stays invalid
    assert all(q not in decided.choices for q in decided.invalid_questions)

    # Keyboard: set the marks of a faint ballot (M, number, Enter toggles, Enter saves) …
    faint = items_in(store, process, "marginal_mark")[0]
    show(anna, faint.id)
    detail = review.item_detail(store, process, faint.id, ws.root)
    machine = {q: set(v) for q, v in detail.record.choices.items()}
    box = next(b for p in detail.pages for b in p.boxes if b.doubtful)
    expected = {q: set(v) for q, v in machine.items()}
    expected.setdefault(box.question, set()).symmetric_difference_update({box.option})
    anna.keyboard.press("m")
    anna.wait_for_selector("#modebar")
    anna.keyboard.type(str(box.number))
    anna.keyboard.press("Enter")
    anna.keyboard.press("Enter")
    pending = wait_for(lambda: review.get_item(store, process, faint.id).status == "pending", "pending marks")
    assert pending
    assert review.effective_decision(store, process, faint.record_id).state is RecordState.REVIEW  # not used yet
    list_result = run_cli("-C", ws.root, "review", "list")
    assert list_result.code == 1 and faint.id in list_result.out and "Awaiting confirmation" in list_result.out

    # … which only a second reviewer can confirm: Anna's C does nothing, Ben's C confirms.
    anna.wait_for_selector(f'#queue button[data-item="{faint.id}"]')
    show(anna, faint.id)
    assert anna.is_disabled('#actions button[data-action="confirm"]')
    ben = open_as(browser, base, tokens["Ben"])
    show(ben, faint.id)
    ben.keyboard.press("c")
    confirmed = wait_for(lambda: (e := review.effective_decision(store, process, faint.record_id)).confirmed_by and e,
                         "Ben's confirmation")
    assert confirmed.state is RecordState.COUNTED or confirmed.invalid_questions
    valid = {q: set(v) for q, v in expected.items() if v and q not in confirmed.invalid_questions}
    assert {q: set(v) for q, v in confirmed.choices.items()} == valid

    # Keyboard: reject (R), then show decided items and undo (U): back in the queue, in the history.
    target = items_in(store, process, "cancelled_only")[0]
    show(anna, target.id)
    anna.keyboard.press("r")
    wait_for(lambda: review.get_item(store, process, target.id).status == "decided", "the rejection")
    assert review.effective_decision(store, process, target.record_id).state is RecordState.REJECTED
    anna.check("#show-decided")
    anna.wait_for_selector(f'#queue button[data-item="{target.id}"]')
    show(anna, target.id)
    anna.keyboard.press("u")
    wait_for(lambda: review.get_item(store, process, target.id).status == "open", "the undo")
    assert review.history(store, target.id)[0].undone_by == "Anna"

    # J and K walk the queue.
    show(anna, target.id)
    anna.keyboard.press("j")
    anna.wait_for_selector(f'#item-title:not([data-item="{target.id}"])')
    anna.keyboard.press("k")
    anna.wait_for_selector(f'#item-title[data-item="{target.id}"]')

    # An unreadable ballot: identify both pages by the serial printed on the paper.
    pages = page_items_by_truth(store, process, ws.truth)
    serial = min(s for s, _ in pages)
    intent = next(b for b in ws.truth["ballots"] if b["serial"] == serial)["intent"]
    front = pages[(serial, 1)]
    show(anna, front)
    anna.keyboard.press("s")
    anna.keyboard.type(str(serial))
    anna.keyboard.press("Enter")
    anna.wait_for_selector('input[name="ballot-page"][value="1"]:checked')
    numbers = {(it.question, it.option): it.number for it in process.items()}
    for question, options in intent.items():
        for option in options:
            anna.keyboard.type(str(numbers[(question, option)]))
            anna.keyboard.press("Enter")
    anna.keyboard.press("Enter")
    wait_for(lambda: review.get_item(store, process, front).status == "pending", "the pending identification")
    show(ben, front)
    ben.click('#actions button[data-action="confirm"]')
    wait_for(lambda: review.get_item(store, process, front).status == "decided", "the confirmed identification")
    back = pages.get((serial, 2))
    if back is not None:
        show(anna, back)
        anna.click("#serial")
        anna.keyboard.type(str(serial))
        anna.click("#lookup")
        anna.wait_for_selector('input[name="ballot-page"][value="2"]:checked')
        anna.click('#actions button[data-action="identify"]')
        wait_for(lambda: review.get_item(store, process, back).status == "decided", "page 2 identified")
    record = store.conn.execute("SELECT record_id FROM records WHERE serial = ? AND channel = 'paper'",
                                (serial,)).fetchone()[0]
    identified = review.effective_decision(store, process, record)
    assert identified.state is RecordState.COUNTED
    assert {q: set(v) for q, v in identified.choices.items()} == {q: set(v) for q, v in intent.items() if v}

    # Comments: personal data (P) stays private; a confirmed suggestion (A) may be published.
    comments = items_in(store, process, kind="comment")
    show(anna, comments[0].id)
    anna.keyboard.press("p")
    wait_for(lambda: review.get_item(store, process, comments[0].id).status == "decided", "personal data")
    show(anna, comments[1].id)
    suggestion = anna.input_value("#comment-text")
    anna.keyboard.press("a")
    wait_for(lambda: review.get_item(store, process, comments[1].id).status == "decided", "the confirmed text")
    assert [c.text for c in review.confirmed_comments(store)] == [suggestion.strip()]

    # The merged tally changed exactly as decided, and `hybrid merge` writes it.
    after = tally(store, process)
    merged = run_cli("-C", ws.root, "merge", "-o", ws.root / "merged")
    assert merged.code == 1, merged.output  # items are still open
    with open(ws.root / "merged" / "tally.csv", encoding="utf-8") as handle:
        written = Counter({(r["question"], r["option"]): int(r["total"]) for r in csv.DictReader(handle)
                           if int(r["total"])})
    assert written == after
    gained = after - before
    added = Counter()
    for eff in (decided, confirmed, identified):
        added.update((q, o) for q, opts in eff.choices.items() for o in opts)
    assert gained == added and not (before - after)
    listed = run_cli("-C", ws.root, "review", "list", "--all")
    assert listed.code == 1 and over.id in listed.out and "Anna" in listed.out
    assert not anna.errors and not ben.errors

    # The language switch (L): the same page in English.
    anna.keyboard.press("l")
    anna.wait_for_selector("html[lang=en]")
    assert "Left to review" in anna.inner_text("#counter")


def test_two_reviewers_on_one_item_in_the_browser(browser, server):
    base, tokens, store, ws = server
    process = ws.process
    item = items_in(store, process, "overvote")[-1]
    anna = open_as(browser, base, tokens["Anna"])
    ben = open_as(browser, base, tokens["Ben"])
    show(anna, item.id)
    show(ben, item.id)
    anna.keyboard.press("a")
    wait_for(lambda: review.get_item(store, process, item.id).status == "decided", "Anna's decision")
    ben.click('#actions button[data-action="reject"]')
    ben.wait_for_selector("#banner:not([hidden])")
    message = ben.inner_text("#banner")
    assert "Anna" in message and "NICHT gespeichert" in message
    assert [(d.action, d.reviewer) for d in review.history(store, item.id)] == [("accept", "Anna")]
    ben.wait_for_selector(f'#item-title[data-item="{item.id}"]')
    assert "Anna" in ben.inner_text("#status-line")  # Ben now sees what was decided
