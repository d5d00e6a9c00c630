"""The review page over HTTP: tokens, sessions, CSRF, two people on one item, undo.

Runs the Starlette app in-process against a private copy of a simulated, scanned batch.
"""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():  # Starlette nags about httpx vs httpx2; the TestClient works the same
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from hybrid import review
from hybrid.states import RecordState

BASE = "http://127.0.0.1:8090"


@pytest.fixture
def site(review_workspace):
    """The app, reviewers Anna and Ben with their tokens, and a logged-in client per reviewer."""
    from ocr.evidence_picture import draw
    from review.app import create_app

    ws = review_workspace
    store = ws.open_store()
    tokens = {name: review.issue_token(store, name) for name in ("Anna", "Ben")}
    app = create_app(ws.root, ws.process, ws.open_store, draw_evidence=draw)

    def client(name: str | None = None) -> TestClient:
        c = TestClient(app, base_url=BASE)
        if name:
            r = c.get(f"/?token={tokens[name]}", follow_redirects=False)
            assert r.status_code == 303
        return c

    class Site:
        pass

    s = Site()
    s.ws, s.store, s.tokens, s.client, s.app = ws, store, tokens, client, app
    s.process = ws.process
    yield s
    app.state.pool.close()
    store.close()


def first_item(site, group: str | None = None, kind: str = "record", with_crop: bool = False) -> review.ReviewItem:
    for item in review.list_items(site.store, site.process):
        if item.kind != kind or (group and item.group != group):
            continue
        if with_crop:
            detail = review.item_detail(site.store, site.process, item.id, site.ws.root)
            if not any(p.crop for p in detail.pages):
                continue
        return item
    raise AssertionError(f"the deck has no {kind} item in {group}")


def post(client: TestClient, path: str, body: dict, csrf: str | None = "auto", **headers) -> object:
    if csrf == "auto":
        csrf = client.get("/").text.split('name="csrf-token" content="')[1].split('"')[0]
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.post(path, json=body, headers=headers)


def test_nothing_is_served_without_a_valid_token(site):
    item = first_item(site, with_crop=True)
    paths = ["/", "/api/queue", f"/api/items/{item.id}", f"/img/{item.id}/page/0.png", "/static/review.js",
             "/static/review.css", "/api/ballots/1"]
    anonymous = site.client()
    for path in paths:
        assert anonymous.get(path).status_code == 401, path
        assert anonymous.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 403, path
        forged = TestClient(site.app, base_url=BASE, cookies={"hybrid_review": "eyJuIjoiQW5uYSJ9.bogus"})
        assert forged.get(path).status_code == 403, path
    assert anonymous.get("/?token=not-a-token", follow_redirects=False).status_code == 403
    assert anonymous.post(f"/api/items/{item.id}/decide", json={"action": "accept", "version": 0}).status_code == 401


def test_the_personal_link_opens_a_session_and_leaves_the_address_bar(site):
    c = TestClient(site.app, base_url=BASE)
    r = c.get(f"/?token={site.tokens['Anna']}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = c.get("/")
    assert page.status_code == 200 and "Anna" in page.text and 'lang="de"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "https://" not in page.text and "http://" not in page.text  # no external assets
    item = first_item(site, with_crop=True)
    url = c.get(f"/api/items/{item.id}").json()["pages"][0]["crop_url"]
    image = c.get(url)  # rendered from the archived scan
    assert image.status_code == 200 and image.content.startswith(b"\xff\xd8") and url.endswith(".jpg")
    assert c.get("/static/review.js").status_code == 200
    english = c.get("/?lang=en")
    assert english.status_code == 200 and 'lang="en"' in english.text and "Left to review" in english.text


def test_a_post_without_the_csrf_token_is_refused(site):
    item = first_item(site, "overvote")
    c = site.client("Anna")
    path = f"/api/items/{item.id}/decide"
    body = {"action": "accept", "version": item.version}
    assert post(c, path, body, csrf=None).status_code == 403
    assert post(c, path, body, csrf="wrong").status_code == 403
    assert post(c, path, body, Origin="http://evil.example").status_code == 403
    assert review.get_item(site.store, site.process, item.id).decision is None
    assert post(c, path, body).status_code == 200
    assert review.get_item(site.store, site.process, item.id).decision.reviewer == "Anna"


def test_two_reviewers_on_one_item_the_second_gets_a_clear_409(site):
    item = first_item(site, "overvote")
    anna, ben = site.client("Anna"), site.client("Ben")
    seen_by_anna = anna.get(f"/api/items/{item.id}").json()["item"]["version"]
    seen_by_ben = ben.get(f"/api/items/{item.id}").json()["item"]["version"]
    assert post(anna, f"/api/items/{item.id}/decide", {"action": "accept", "version": seen_by_anna}).status_code == 200
    late = post(ben, f"/api/items/{item.id}/decide", {"action": "reject", "version": seen_by_ben})
    assert late.status_code == 409
    body = late.json()
    assert body["error"] == "conflict" and body["by"] == "Anna" and body["event"] == "accept"
    assert "Anna" in body["message"] and "not saved" in body["message"]
    past = review.history(site.store, item.id)
    assert [(d.action, d.reviewer) for d in past] == [("accept", "Anna")]
    missing_version = post(ben, f"/api/items/{item.id}/undo", {})
    assert missing_version.status_code == 400


def test_changed_marks_need_a_second_reviewer_over_the_web(site):
    item = first_item(site, "marginal_mark")
    anna, ben = site.client("Anna"), site.client("Ben")
    detail = anna.get(f"/api/items/{item.id}").json()
    marks = {"q1": ["a"], "q2": ["b", "c"], "q3": ["no"]}
    r = post(anna, f"/api/items/{item.id}/decide", {"action": "marks", "marks": marks,
                                                    "version": detail["item"]["version"]})
    assert r.status_code == 200 and r.json()["item"]["status"] == "pending"
    record_id = item.record_id
    assert review.effective_decision(site.store, site.process, record_id).state is RecordState.REVIEW
    mine = anna.get(f"/api/items/{item.id}").json()["item"]
    assert mine["mine_pending"] and not mine["can_confirm"]
    refused = post(anna, f"/api/items/{item.id}/confirm", {"version": mine["version"]})
    assert refused.status_code == 403 and refused.json()["error"] == "second_reviewer"
    theirs = ben.get(f"/api/items/{item.id}").json()["item"]
    assert theirs["can_confirm"]
    ok = post(ben, f"/api/items/{item.id}/confirm", {"version": theirs["version"]})
    assert ok.status_code == 200 and ok.json()["item"]["status"] == "decided"
    effective = review.effective_decision(site.store, site.process, record_id)
    assert effective.counted and effective.confirmed_by == "Ben"
    assert {q: list(v) for q, v in effective.choices.items()} == {"q1": ["a"], "q2": ["b", "c"], "q3": ["no"]}


def test_undo_over_the_web_and_a_replaced_token_ends_the_session(site):
    item = first_item(site, "overvote")
    anna = site.client("Anna")
    version = anna.get(f"/api/items/{item.id}").json()["item"]["version"]
    assert post(anna, f"/api/items/{item.id}/decide", {"action": "invalid", "version": version}).status_code == 200
    assert review.effective_decision(site.store, site.process, item.record_id).invalid_ballot
    undone = post(anna, f"/api/items/{item.id}/undo", {"version": version + 1})
    assert undone.status_code == 200 and undone.json()["item"]["status"] == "open"
    assert review.effective_decision(site.store, site.process, item.record_id).state is RecordState.REVIEW
    assert review.history(site.store, item.id)[0].undone_by == "Anna"
    review.issue_token(site.store, "Anna")  # a new link: the old session ends
    assert anna.get("/api/queue").status_code == 403


def test_scripts_may_use_the_token_as_a_bearer(site):
    item = first_item(site, "overvote")
    c = site.client()
    auth = {"Authorization": f"Bearer {site.tokens['Ben']}"}
    queue = c.get("/api/queue", headers=auth).json()
    assert queue["reviewer"] == "Ben" and queue["counts"]["open"] >= 1
    r = c.post(f"/api/items/{item.id}/decide", json={"action": "reject", "version": item.version}, headers=auth)
    assert r.status_code == 200
    assert review.get_item(site.store, site.process, item.id).decision.reviewer == "Ben"


def test_every_word_in_both_languages_and_nothing_from_outside():
    from pathlib import Path

    import review as review_pkg
    from hybrid.states import Reason
    from review import i18n

    assert set(i18n.STRINGS["de"]) == set(i18n.STRINGS["en"])
    for lang in i18n.LANGUAGES:
        words = i18n.strings(lang)
        missing = [r.value for r in Reason if f"g_{r.value}" not in words]
        assert not missing, (lang, missing)
        assert all(f"g_{g}" in words for g in review.GROUP_ORDER)
    folder = Path(review_pkg.__file__).parent
    for path in [*folder.glob("static/*"), *folder.glob("templates/*")]:
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, path


def test_the_queue_after_decisions_is_the_hubs_list(site):
    """The page keeps the queue of thousands of items between changes; after every decision,
    confirmation and undo over the web it must still be exactly what the hub lists."""
    anna, ben = site.client("Anna"), site.client("Ben")

    def listed(client) -> list[tuple[str, str, str]]:
        data = client.get("/api/queue?all=1").json()
        return [(i["id"], i["group"], i["status"]) for g in data["groups"] for i in g["items"]]

    def hub() -> list[tuple[str, str, str]]:
        return [(i.id, i.group, i.status) for i in review.list_items(site.store, site.process, include_decided=True)]

    assert listed(anna) == hub()
    over, faint = first_item(site, "overvote"), first_item(site, "marginal_mark")
    assert post(anna, f"/api/items/{over.id}/decide", {"action": "accept", "version": over.version}).status_code == 200
    assert listed(anna) == hub()
    marks = {"q1": ["a", "b"] if faint.record_id % 2 else ["c"]}
    assert post(anna, f"/api/items/{faint.id}/decide", {"action": "marks", "marks": marks,
                                                        "version": faint.version}).status_code == 200
    assert listed(anna) == hub() and ("awaiting_confirmation" in {g for _, g, _ in listed(ben)})
    pending = review.get_item(site.store, site.process, faint.id)
    assert post(ben, f"/api/items/{faint.id}/confirm", {"version": pending.version}).status_code == 200
    assert listed(anna) == hub()
    decided = review.get_item(site.store, site.process, over.id)
    assert post(anna, f"/api/items/{over.id}/undo", {"version": decided.version}).status_code == 200
    assert listed(anna) == hub()
    # A change from elsewhere (the CLI, another workstation) is seen too.
    review.decide(site.store, site.process, over.id, review.DecisionRequest("reject"), "Carla")
    assert listed(ben) == hub()


def test_the_reader_keeps_where_it_cut_each_review_crop(site):
    # The box outlines are drawn over a crop where the reader said it cut it (its reading's
    # review_crop), not where the review page guesses from the image size.
    from hybrid.store import review as stored

    checked = 0
    for item in review.list_items(site.store, site.process):
        detail = review.item_detail(site.store, site.process, item.id, site.ws.root)
        for view in detail.pages:
            row = stored.page(site.store, view.source)
            if view.crop is None or row is None or not row.review_crop:
                continue
            cut = row.reading.review_crop
            assert cut is not None, view.source
            assert view.crop.region_mm == cut.region_mm and view.crop.px_per_mm == cut.px_per_mm
            x, y, w, h = cut.region_mm
            assert (view.crop.width, view.crop.height) == (round(w * cut.px_per_mm), round(h * cut.px_per_mm))
            layout = site.store.layouts()[row.layout_hash]
            for box in layout.pages[row.ballot_page - 1].boxes:  # every box is on the crop
                assert x <= box.x and box.x + box.w <= x + w and y <= box.y and box.y + box.h <= y + h
            checked += 1
    assert checked >= 3
