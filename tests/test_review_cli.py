"""`hybrid review list | show | decide | undo | token` from a shell, with DESIGN §9's exit codes:
0 ok · 1 items still need a person (list; a decision waiting for a second reviewer) · 2 a
wrong option, an unknown item, or someone else decided first."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from hybrid import review
from hybrid.states import RecordState


@pytest.fixture(autouse=True)
def english_words(monkeypatch):
    """The CLI's words follow the locale; these stories read the English ones."""
    monkeypatch.setenv("HYBRID_LANG", "en")


def first(ws, group: str) -> review.ReviewItem:
    store = ws.open_store()
    try:
        return next(i for i in review.list_items(store, ws.process) if i.group == group)
    finally:
        store.close()


def test_list_show_decide_confirm_undo(review_workspace, run_cli):
    ws = review_workspace
    listed = run_cli("-C", ws.root, "review", "list", "--json")
    assert listed.code == 1  # items wait for a person
    data = json.loads(listed.out)
    groups = {i["group"] for i in data["items"]}
    assert {"unreadable", "overvote", "marginal_mark", "comment"} <= groups
    assert data["counts"]["open"] == len(data["items"])

    over = first(ws, "overvote")
    shown = run_cli("-C", ws.root, "review", "show", over.id)
    assert shown.code == 0 and "look here" in shown.out and "In force" in shown.out and "to review" in shown.out
    decided = run_cli("-C", ws.root, "review", "decide", over.id, "--accept", "--reviewer", "Anna Weber")
    assert decided.code == 0 and "by Anna Weber" in decided.out
    again = run_cli("-C", ws.root, "review", "decide", over.id, "--reject", "--reviewer", "Ben")
    assert again.code == 2 and "already decided by Anna Weber" in again.err

    faint = first(ws, "marginal_mark")
    pending = run_cli("-C", ws.root, "review", "decide", faint.id, "--marks", "q1=b,q3=no", "--reviewer", "Anna")
    assert pending.code == 1 and "second reviewer" in pending.out
    same = run_cli("-C", ws.root, "review", "decide", faint.id, "--confirm", "--reviewer", "Anna")
    assert same.code == 2 and "second reviewer" in same.err
    other = run_cli("-C", ws.root, "review", "decide", faint.id, "--confirm", "--reviewer", "Ben")
    assert other.code == 0 and "confirmed by Ben" in other.out
    store = ws.open_store()
    try:
        effective = review.effective_decision(store, ws.process, faint.record_id)
        assert effective.state is RecordState.COUNTED and effective.choices["q1"] == ("b",)
        assert effective.choices["q3"] == ("no",)
    finally:
        store.close()

    undone = run_cli("-C", ws.root, "review", "undo", over.id, "--reviewer", "Anna Weber")
    assert undone.code == 0 and "now open" in undone.out
    full = run_cli("-C", ws.root, "review", "list", "--all")
    assert full.code == 1 and faint.id in full.out and "confirmed by Ben" in full.out


def test_wrong_options_and_unknown_items_exit_2(review_workspace, run_cli):
    ws = review_workspace
    over = first(ws, "overvote")
    for args, word in [
        ((over.id, "--accept", "--reject"), "choose one decision"),
        ((over.id,), "choose one decision"),
        ((over.id, "--marks", "q9=a"), "q9"),
        (("r999999", "--accept"), "no record"),
        (("nonsense", "--accept"), "not a review item"),
        ((over.id, "--serial", "3"), "not a decision for this item"),
        ((over.id, "--invalid-question", "q7"), "q7"),
    ]:
        result = run_cli("-C", ws.root, "review", "decide", *args, "--reviewer", "Anna")
        assert result.code == 2, (args, result.output)
        assert word in result.err, (args, result.err)
    assert run_cli("-C", ws.root, "review", "show", "r999999").code == 2
    assert run_cli("-C", ws.root, "review", "undo", over.id, "--reviewer", "Anna").code == 2  # nothing to undo


def test_list_exits_0_when_nothing_is_left(review_workspace, run_cli):
    ws = review_workspace
    store = ws.open_store()
    try:
        for item in review.list_items(store, ws.process):
            request = review.DecisionRequest("reject")
            review.decide(store, ws.process, item.id, request, "Anna")
    finally:
        store.close()
    result = run_cli("-C", ws.root, "review", "list")
    assert result.code == 0 and "0 open" in result.out


def test_token_prints_a_link_that_opens_the_page(review_workspace, run_cli):
    from test_review_web import TestClient

    from ocr.evidence_picture import draw
    from review.app import create_app

    ws = review_workspace
    result = run_cli("-C", ws.root, "review", "token", "Anna Weber", "--port", "8091")
    assert result.code == 0
    url = result.out.strip()
    assert url.startswith("http://127.0.0.1:8091/?token=")
    token = parse_qs(urlsplit(url).query)["token"][0]
    app = create_app(ws.root, ws.process, ws.open_store, draw_evidence=draw)
    try:
        client = TestClient(app, base_url="http://127.0.0.1:8091")
        assert client.get(f"/?token={token}").status_code == 200  # redirected into the page
        assert "Anna Weber" in client.get("/").text
        assert run_cli("-C", ws.root, "review", "token", "Anna Weber", "--revoke").code == 0
        assert client.get("/api/queue").status_code == 403
        assert run_cli("-C", ws.root, "review", "token", "Nobody", "--revoke").code == 2
    finally:
        app.state.pool.close()


def test_decide_without_a_reviewer_name_refuses_and_records_nothing(review_workspace, run_cli, monkeypatch):
    """Never the computer's login name by accident: no --reviewer and no HYBRID_REVIEWER is exit 2."""
    ws = review_workspace
    monkeypatch.delenv("HYBRID_REVIEWER", raising=False)
    over = first(ws, "overvote")
    refused = run_cli("-C", ws.root, "review", "decide", over.id, "--accept")
    assert refused.code == 2 and "--reviewer" in refused.err
    store = ws.open_store()
    assert store.conn.execute("SELECT COUNT(*) FROM review_decisions").fetchone()[0] == 0
    store.close()
    monkeypatch.setenv("HYBRID_REVIEWER", "Anna Weber")
    decided = run_cli("-C", ws.root, "review", "decide", over.id, "--accept")
    assert decided.code == 0 and "Anna Weber" in decided.out


def test_show_prints_tables_in_words_not_python_reprs(review_workspace, run_cli, monkeypatch):
    ws = review_workspace
    monkeypatch.setenv("HYBRID_LANG", "de")
    over = first(ws, "overvote")
    shown = run_cli("-C", ws.root, "review", "show", over.id)
    assert shown.code == 0
    assert "zu viele Kreuze" in shown.out and "angekreuzt" in shown.out and "← look here" in shown.out
    for repr_bit in ("{'", "('", "MarkState", "RecordState", "None"):
        assert repr_bit not in shown.out
    run_cli("-C", ws.root, "review", "decide", over.id, "--invalid-question", "q1", "--reviewer", "Anna")
    after = run_cli("-C", ws.root, "review", "show", over.id)
    assert "Frage ungültig" in after.out and "Anna" in after.out and "{'" not in after.out
