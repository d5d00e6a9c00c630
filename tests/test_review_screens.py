"""The review page on every screen, and the address that always names the item shown
(issue 12, musts 2–4), in a real headless Chromium.

- Layout is measured, not eyeballed: at 390 px (phone), 768 px (tablet), 1280 px and
  1920 px, for a ballot, an unreadable page and a comment, the page never scrolls
  sideways, no part sticks out of the window, the header, action bar, paper, questions
  and history never overlap, and every question row that is on screen is what the
  browser finds at its centre (nothing covers it), at the top, middle and end of the page.
- Back/Forward and a pasted link switch the item; a key pressed while the address
  already names another item never decides the one that was shown before.
- Marks that overvote warn before saving and are recorded as the rules judge them.

With HYBRID_UPDATE_SCREENSHOTS=1 the screenshots go to docs/review-<width>.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_review_browser import browser, items_in, open_as, server, show, wait_for  # noqa: F401 - fixtures

from hybrid import review

WIDTHS = (390, 768, 1280, 1920)
DOCS = Path(__file__).resolve().parent.parent / "docs"
UPDATE = bool(os.environ.get("HYBRID_UPDATE_SCREENSHOTS"))

# What the page looks like to the browser: boxes of the parts that must never overlap.
MEASURE = """() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top + scrollY, r.right, r.bottom + scrollY]; };
  const parts = {};
  for (const [name, sel] of [["header", "header.top"], ["actions", "#actions"], ["pages", "#pages"],
                             ["questions", "#questions"], ["history", "#history"], ["identify", "#identify"],
                             ["comment", "#comment"], ["decision", "#decision"]]) {
    const el = document.querySelector(sel);
    if (el) parts[name] = box(el);
  }
  let widest = 0;
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.height && !el.closest(".page-scroll")) widest = Math.max(widest, r.right);
  }
  return { parts, widest, scrollWidth: document.documentElement.scrollWidth, width: innerWidth,
           actionsPosition: getComputedStyle(document.querySelector("#actions")).position };
}"""

# Every question row on screen must be the topmost thing at its centre.
COVERED = """() => {
  const covered = [];
  for (const row of document.querySelectorAll("#questions tr, #pages figure")) {
    const r = row.getBoundingClientRect();
    const x = r.left + Math.min(r.width / 2, 40), y = r.top + r.height / 2;
    if (y < 0 || y > innerHeight || x < 0 || x > innerWidth) continue;
    const top = document.elementFromPoint(x, y);
    if (top && !row.contains(top)) covered.push(row.textContent.trim().slice(0, 40) + " under " + top.className);
  }
  return covered;
}"""


def overlapping(parts: dict) -> list[str]:
    names = sorted(parts)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ax0, ay0, ax1, ay1 = parts[a]
            bx0, by0, bx1, by1 = parts[b]
            if min(ax1, bx1) - max(ax0, bx0) > 1 and min(ay1, by1) - max(ay0, by0) > 1:
                found.append(f"{a} × {b}")
    return found


def reviewer_page(browser, base: str, token: str, width: int):  # noqa: F811 - the fixture
    return open_as(browser, base, token, width, 900 if width > 500 else 844)


def open_by_address(page, base: str, item_id: str) -> None:
    page.goto(f"{base}/#{item_id}")
    page.wait_for_selector(f'#item-title[data-item="{item_id}"]')
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width", WIDTHS)
def test_layout_at_every_width(browser, server, width):  # noqa: F811 - fixtures
    base, tokens, store, ws = server
    process = ws.process
    shown = [items_in(store, process, "overvote")[0], items_in(store, process, kind="page")[0],
             items_in(store, process, kind="comment")[0], items_in(store, process, "code_from_ocr")[0]]
    page = reviewer_page(browser, base, tokens["Anna"], width)
    for item in shown:
        open_by_address(page, base, item.id)
        page.wait_for_selector("#pages svg.overlay image, #comment img", state="attached")
        facts = page.evaluate(MEASURE)
        where = f"{item.id} at {width} px"
        assert facts["scrollWidth"] <= facts["width"], f"{where}: the page scrolls sideways ({facts['scrollWidth']})"
        assert facts["widest"] <= facts["width"] + 1, f"{where}: something sticks out ({facts['widest']})"
        assert overlapping(facts["parts"]) == [], where
        assert facts["actionsPosition"] in ("static", "relative"), where  # in the flow: it cannot cover anything
        height = page.evaluate("document.documentElement.scrollHeight")
        for y in (0, height // 2, height):
            page.evaluate(f"window.scrollTo(0, {y})")
            assert page.evaluate(COVERED) == [], f"{where}, scrolled to {y}"
        if UPDATE and width in (390, 1280) and item is shown[0]:
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(DOCS / f"review-{width}.png"), full_page=width == 390)
    assert not page.errors


def test_the_address_and_the_item_shown_always_agree(browser, server):  # noqa: F811 - fixtures
    base, tokens, store, ws = server
    process = ws.process
    first, second, third = [i.id for i in items_in(store, process, kind="record")[:3]]
    page = reviewer_page(browser, base, tokens["Anna"], 1280)
    show(page, first)
    assert page.evaluate("location.hash") == f"#{first}"
    show(page, second)
    assert page.evaluate("location.hash") == f"#{second}"
    page.go_back()
    page.wait_for_selector(f'#item-title[data-item="{first}"]')
    assert page.evaluate("location.hash") == f"#{first}"
    page.go_forward()
    page.wait_for_selector(f'#item-title[data-item="{second}"]')

    # A pasted link opens its item, in a fresh page as in a running one.
    other = reviewer_page(browser, base, tokens["Ben"], 1280)
    open_by_address(other, base, third)
    assert other.inner_text("#item-title").endswith(f"({third})")

    # The address changes to `third`, and I is pressed at once: `second` must stay untouched.
    page.evaluate(f"location.hash = '#{third}'")
    page.keyboard.press("i")
    page.wait_for_selector(f'#item-title[data-item="{third}"]')
    page.wait_for_load_state("networkidle")
    assert review.history(store, second) == []
    if not review.history(store, third):  # the key came before the item was shown: nothing decided
        page.keyboard.press("i")
    wait_for(lambda: review.history(store, third), "the decision on the item shown")
    assert [d.action for d in review.history(store, third)] == ["invalid"]
    assert review.history(store, second) == [] and review.history(store, first) == []
    assert not page.errors and not other.errors


def test_marks_that_overvote_warn_first_and_count_as_the_rules_say(browser, server):  # noqa: F811 - fixtures
    base, tokens, store, ws = server
    process = ws.process
    item = items_in(store, process, "marginal_mark")[0]
    q1 = next(q for q in process.questions if q.max_choices == 1)
    numbers = [it.number for it in process.items() if it.question == q1.id][:2]
    page = reviewer_page(browser, base, tokens["Anna"], 1280)
    show(page, item.id)
    page.keyboard.press("m")
    page.wait_for_selector("#modebar")
    detail = review.item_detail(store, process, item.id, ws.root)
    chosen = set(detail.record.choices.get(q1.id, ()))
    options = {it.number: it.option for it in process.items() if it.question == q1.id}
    for number in numbers:  # make sure both are ticked
        if options[number] not in chosen:
            page.keyboard.type(str(number))
            page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.wait_for_selector("#marks-warning")
    warning = page.inner_text("#marks-warning")
    assert "ungültig" in warning and "höchstens 1" in warning
    assert review.history(store, item.id) == []  # nothing saved yet
    page.keyboard.press("Enter")  # saved as it is, knowingly
    wait_for(lambda: review.history(store, item.id), "the saved marks")
    review.confirm(store, process, item.id, "Ben")
    effective = review.effective_decision(store, process, item.record_id)
    assert q1.id in effective.invalid_questions and q1.id not in effective.choices
    assert "overvote" in {r.value for r in effective.reasons}
    assert not page.errors
