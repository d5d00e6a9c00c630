"""`hybrid status` as staff and scripts read it: every page of every batch accounted for,
records per channel by state and reason, ballots, review and the audit head; exit code 1
while something needs a person (DESIGN §6, §9)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from conftest import SMS_ACCOUNT

from doubles.twilio_double import new_message_sid
from hybrid import review
from hybrid.errors import ExitCode
from hybrid.states import PageState, RecordState
from sms.service import InboundSms, SmsService


def status_of(run_cli, ws, expect: ExitCode) -> dict:
    result = run_cli("-C", ws.root, "status", "--json")
    assert result.code == expect, result.output
    return json.loads(result.out)


def stored_counts(ws, sql: str) -> dict:
    store = ws.open_store()
    try:
        return {k: v for k, v in store.conn.execute(sql).fetchall()}
    finally:
        store.close()


def test_status_accounts_for_every_page_record_ballot_and_review_item(review_workspace, run_cli):
    ws = review_workspace
    assert run_cli("-C", ws.root, "void", "20", "--reason", "lost").code == ExitCode.OK
    data = status_of(run_cli, ws, ExitCode.NEEDS_PERSON)

    expected_pages = {k: v for k, v in ws.truth["expected_pages"].items() if k != "total"}
    assert [b["batch"] for b in data["batches"]] == ["tray-1"]
    tray = data["batches"][0]
    assert tray["received"] == ws.truth["received"]
    assert tray["pages"] == data["pages"] == expected_pages  # the simulator's truth, state by state
    assert tray["pages_in"] == data["pages_in"] == ws.truth["expected_pages"]["total"] == sum(expected_pages.values())
    assert data["pages"]["unreadable"] >= 1

    paper = data["records"][0]
    assert [c["channel"] for c in data["records"]] == ["paper", "sms", "voice"]
    stored = stored_counts(ws, "SELECT status, COUNT(*) FROM records WHERE COALESCE(serial, 0) != 20 GROUP BY status")
    assert stored_counts(ws, "SELECT serial, COUNT(*) FROM records WHERE serial = 20 GROUP BY serial") == {20: 1}
    stored["rejected"] = stored.get("rejected", 0) + 1  # ballot 20 was voided after it was read: merge rejects it
    assert paper["states"] == {s.value: stored.get(s.value, 0) for s in RecordState}
    assert paper["total"] == sum(stored.values()) and paper["reasons"]["void_code"] == 1
    assert paper["reasons"]["overvote"] >= 1 and paper["reasons"]["marginal_mark"] >= 1
    assert data["records"][1]["total"] == data["records"][2]["total"] == 0
    assert data["ballots"] == {"issued": 19, "void": 1}

    listed = run_cli("-C", ws.root, "review", "list", "--json")
    counts = json.loads(listed.out)["counts"]
    assert data["review"] == counts and data["needs_person"] is True
    waiting = Counter(item["group"] for item in json.loads(listed.out)["items"])
    assert data["review_waiting"] == dict(waiting) and {"unreadable", "overvote", "comment"} <= set(waiting)

    verified = run_cli("-C", ws.root, "audit", "verify")
    assert verified.out.strip().endswith(f"head {data['audit_head']}")
    assert f"Audit chain intact: {data['audit_entries']} entries" in verified.out

    people = run_cli("-C", ws.root, "status")
    assert people.code == ExitCode.NEEDS_PERSON
    assert "tray-1 (" in people.out and "all batches" in people.out and "pages in" in people.out
    assert f"head {data['audit_head']}" in people.out and "hybrid review list" in people.out
    assert "Ballots printed: 20 (issued 19, void 1)" in people.out


def test_decisions_in_force_count_and_status_exits_0_once_nothing_waits(review_workspace, run_cli):
    ws = review_workspace
    before = status_of(run_cli, ws, ExitCode.NEEDS_PERSON)
    store = ws.open_store()
    try:
        items = review.list_items(store, ws.process)
        overvote = next(i for i in items if i.group == "overvote")
        review.decide(store, ws.process, overvote.id, review.DecisionRequest("accept"), "Anna")
        middle = status_of(run_cli, ws, ExitCode.NEEDS_PERSON)
        for item in review.list_items(store, ws.process):
            review.decide(store, ws.process, item.id, review.DecisionRequest("reject"), "Anna")
    finally:
        store.close()
    moved = {s: middle["records"][0]["states"][s] - before["records"][0]["states"][s] for s in ("review", "counted")}
    assert moved == {"review": -1, "counted": 1}  # the accepted overvote counts (its overvoted question does not)

    after = status_of(run_cli, ws, ExitCode.OK)
    assert after["needs_person"] is False and after["review"]["open"] == after["review"]["pending"] == 0
    assert after["records"][0]["states"]["review"] == 0
    assert after["pages"] == before["pages"]  # an identified page is still accounted as it was read
    assert after["audit_entries"] > before["audit_entries"]
    assert run_cli("-C", ws.root, "status").code == ExitCode.OK


@pytest.mark.usefixtures("store_engine")
def test_status_counts_phone_records_by_state_and_reason(sms_workspace, run_cli):
    ws = sms_workspace(codes={"de": 3})
    a, b, _ = ws.codes["de"]
    store = ws.open_store()
    clock = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    try:
        service = SmsService(store, ws.process, clock=lambda: clock)
        for body in (f"{a} 1", f"{b} 2", f"{a} 1", "HILFE", "111122223333 1"):
            service.receive(InboundSms(new_message_sid(), SMS_ACCOUNT, body, "+4915112345678"))
            clock += timedelta(minutes=1)
    finally:
        store.close()
    data = status_of(run_cli, ws, ExitCode.OK)
    sms = data["records"][1]
    assert sms["channel"] == "sms" and sms["total"] == 5
    assert {k: v for k, v in sms["states"].items() if v} == {"counted": 2, "duplicate": 1, "not_a_vote": 1,
                                                              "rejected": 1}
    assert sms["reasons"] == {"unknown_code": 1}
    assert data["phones"] == {"sms_messages": 5, "sms_deleted_at_twilio": 0, "voice_calls": 0,
                              "calls_deleted_at_twilio": 0}
    assert data["batches"] == [] and data["pages_in"] == 0 and set(data["pages"]) == {s.value for s in PageState}
    assert data["ballots"] == {"issued": 3, "void": 0} and data["needs_person"] is False
    assert data["purge_from"] == "2099-06-30T00:00:00+01:00" and data["last_purge"] is None


def test_status_without_a_store_says_so(tmp_path, run_cli):
    assert run_cli("-C", tmp_path / "ws", "init", "--example", "poll").code == ExitCode.OK
    (tmp_path / "ws" / "hybrid.db").unlink()
    result = run_cli("-C", tmp_path / "ws", "status")
    assert result.code == ExitCode.STORE_OR_KEY and "no store here" in result.err
