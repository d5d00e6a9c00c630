"""`hybrid purge` after the retention period: raw SMS texts, phone hashes and scan images
go here and at Twilio (a local Twilio-format server), while every record, vote, count and
the audit chain stay. Paper comes from `hybrid simulate` + `hybrid scan`, SMS through
the SMS service, as in real use."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SMS_ACCOUNT, SMS_NUMBER, SMS_TOKEN
from paper_deck import issue_codes, returned_tray

from doubles.twilio_double import FakeTwilioApi, new_message_sid
from hybrid import audit, identity_votes, rules
from hybrid.errors import ExitCode
from hybrid.purge import PLACEHOLDER_PREFIX, RetentionNotOver, plan_purge, purge, purge_from
from hybrid.workspace import Workspace
from sms.service import InboundSms, SmsService
from sms.twilio_cleanup import TwilioEraser
from sms.twilio_config import TwilioConfig
from sms.voice_menu import read_entry
from sms.voice_service import InboundCall, VoiceService

# Its module fixtures are built once: all of its tests run on one worker of `-n auto`.
pytestmark = pytest.mark.xdist_group("test_purge")

REPO = Path(__file__).resolve().parent.parent
OPENS, CLOSES = "2024-03-01T00:00:00+01:00", "2024-04-01T00:00:00+02:00"
RETENTION_DAYS = 30
DURING = datetime(2024, 3, 12, 9, 0, tzinfo=timezone.utc)  # SMS arrive while the vote is open
PHONES = ("+4915112345678", "+4917600011122", "+4915199988877")
DECK_MIX = ("overvote=0.25,faint_pencil=0.25,comment=0.5,spoilt=0,missing_page=0,rescan=0,blank_pages=0,"
            "foreign_pages=0,duplex_trays=0,photocopy=0,unreadable=0,qr_damaged=0,feed_slip=0,large_print=0")


def poll_definition(opens: str, closes: str, retention_days: int) -> str:
    text = (REPO / "hybrid" / "examples" / "poll.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^opens: .*$", f"opens: {opens}", text)
    text = re.sub(r"(?m)^closes: .*$", f"closes: {closes}", text)
    return re.sub(r"(?m)^retention_days: .*$", f"retention_days: {retention_days}", text)


@pytest.fixture(scope="module")
def returned_deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A process that closed in 2024: 4 simulated ballots scanned (with crops), 3 more codes
    used by phone: 5 SMS from 3 phones and one call that votes. Built once; tests copy it."""
    from forms.compose import BallotComposer
    from hybrid.definition_file import load_process

    base = tmp_path_factory.mktemp("purge-deck")
    (base / "process.yaml").write_text(poll_definition(OPENS, CLOSES, RETENTION_DAYS), encoding="utf-8")
    deck = base / "deck"
    returned_tray(load_process(base / "process.yaml"), deck, count=4, seed=2, mix=DECK_MIX, workers=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("HYBRID_DATABASE_URL", raising=False)
        mp.delenv("HYBRID_SECRET", raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(deck / "config"))
        ws = Workspace(deck / "workspace")
        store = ws.open_store()
        try:
            codes = issue_codes(store, BallotComposer(ws.process, "de", False).compose().layout, 3)
            service = SmsService(store, ws.process, clock=lambda: DURING)
            for body, phone in ((f"{codes[0]} 1", PHONES[0]), ("HILFE", PHONES[1]), (f"{codes[1]} 2 5", PHONES[1]),
                                (f"{codes[0]} 2", PHONES[0]), ("1234 5678 9012 1", PHONES[2])):
                service.receive(InboundSms(new_message_sid(), SMS_ACCOUNT, body, phone))
            voice = VoiceService(store, ws.process, clock=lambda: DURING)
            call = InboundCall("CA" + "5e" * 16, SMS_ACCOUNT, PHONES[2])
            turn = voice.incoming(call)
            for digits, key in ((codes[2], "#"), ("1", "#"), ("5", "#"), ("9", "#"), ("10", "#"), ("1", "")):
                turn = voice.gather(call, turn.state.seq, read_entry(digits, key))
            assert turn.outcome is not None and turn.outcome.value == "received"
        finally:
            store.close()
    return deck


@pytest.fixture
def deck(returned_deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A private copy of the returned deck's workspace (store, scans, crops, key)."""
    target = tmp_path / "deck"
    shutil.copytree(returned_deck / "config", target / "config")
    shutil.copytree(returned_deck / "workspace", target / "workspace")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(target / "config"))
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "HYBRID_TWILIO_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return Workspace(target / "workspace")


@pytest.fixture
def twilio(deck: Workspace, monkeypatch: pytest.MonkeyPatch):
    """A Twilio-format server holding every message and call of the deck, with our credentials set."""
    with FakeTwilioApi(SMS_ACCOUNT, SMS_TOKEN) as api:
        for sid, at in query(deck, "SELECT message_sid, sent_at FROM sms_messages"):
            api.add(sid, PHONES[0], SMS_NUMBER, "…", datetime.fromisoformat(at))
        for (sid,) in query(deck, "SELECT call_sid FROM voice_calls"):
            api.add_call(sid, PHONES[2], "+499314650190", DURING)
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", SMS_ACCOUNT)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", SMS_TOKEN)
        monkeypatch.setenv("HYBRID_TWILIO_API_URL", api.url)
        yield api


def query(ws: Workspace, sql: str, params=()) -> list[tuple]:
    store = ws.open_store()
    try:
        return [tuple(row) for row in store.conn.execute(sql, params).fetchall()]
    finally:
        store.close()


def votes(ws: Workspace) -> list[tuple]:
    """Everything a count depends on: records with their decisions and choices, and the claims."""
    return (query(ws, "SELECT record_id, channel, code_hash, serial, source, received_at, status, reasons, choices, "
                      "own_status, own_reasons, hidden_caller FROM records ORDER BY record_id")
            + query(ws, "SELECT identity, record_id FROM claims ORDER BY identity"))


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def status_json(run_cli, ws: Workspace) -> dict:
    result = run_cli("-C", ws.root, "status", "--json")
    assert result.code in (ExitCode.OK, ExitCode.NEEDS_PERSON), result.output
    return json.loads(result.out)


def after_retention() -> datetime:
    return datetime.fromisoformat(CLOSES) + timedelta(days=RETENTION_DAYS)


# -- the story -----------------------------------------------------------------------------


def test_the_deck_has_what_purge_is_for(deck: Workspace):
    """The data the other tests purge is really there (a guard against a hollow fixture)."""
    assert query(deck, "SELECT COUNT(*) FROM sms_messages WHERE body IS NOT NULL") == [(5,)]
    assert query(deck, "SELECT COUNT(*) FROM records WHERE phone_hash IS NOT NULL")[0][0] >= 2
    assert query(deck, "SELECT COUNT(*) FROM claims")[0][0] >= 4
    names = files_under(deck.scans_dir)
    assert any(re.fullmatch(r"[0-9a-f]{64}\.(pdf|tiff|png|jpeg)", n) for n in names)
    assert any(n.startswith("crops/") and n.endswith("-review.png") for n in names)
    assert any(n.startswith("crops/") and n.endswith("-comment.png") for n in names)
    statuses = dict(query(deck, "SELECT status, COUNT(*) FROM records GROUP BY status"))
    assert statuses.get("counted", 0) >= 3 and statuses.get("review", 0) >= 1 and statuses.get("not_a_vote") == 1
    assert query(deck, "SELECT status, phone_hash IS NOT NULL FROM records WHERE channel = 'voice'") == [("counted", 1)]
    assert query(deck, "SELECT COUNT(*) FROM voice_calls WHERE phone_hash IS NOT NULL") == [(1,)]


def test_purge_refuses_before_the_retention_period_ends_and_deletes_nothing(deck: Workspace):
    before_votes, before_files = votes(deck), files_under(deck.scans_dir)
    store = deck.open_store()
    try:
        one_second_early = after_retention() - timedelta(seconds=1)
        plan = plan_purge(deck, store, clock=lambda: one_second_early)
        assert not plan.allowed and plan.purge_from == after_retention() == purge_from(deck.process)
        assert (plan.counts.sms_bodies, plan.counts.provider_messages, plan.counts.provider_calls) == (5, 5, 1)
        with pytest.raises(RetentionNotOver) as refused:
            purge(deck, store, clock=lambda: one_second_early)
        assert "runs until 2024-05-01T00:00:00+02:00" in refused.value.message
        assert "retention_days 30" in refused.value.message and "nothing was deleted" in refused.value.message
    finally:
        store.close()
    assert votes(deck) == before_votes
    assert files_under(deck.scans_dir) == before_files
    assert query(deck, "SELECT COUNT(*) FROM sms_messages WHERE body IS NOT NULL") == [(5,)]
    assert query(deck, "SELECT COUNT(*) FROM audit WHERE kind = 'purge'") == [(0,)]


def test_purge_after_retention_deletes_texts_hashes_scans_and_twilio_copies_but_no_vote(deck: Workspace, twilio,
                                                                                          run_cli):
    before_votes = votes(deck)
    before_status = status_json(run_cli, deck)
    before_inputs = query(deck, "SELECT sha256 FROM inputs WHERE archived IS NOT NULL")
    assert [(c["channel"], c["total"]) for c in before_status["records"]] == [("paper", 4), ("sms", 5), ("voice", 1)]
    sids = sorted(sid for (sid,) in query(deck, "SELECT message_sid FROM sms_messages"))
    calls = [sid for (sid,) in query(deck, "SELECT call_sid FROM voice_calls")]
    replies = [twilio.add(new_message_sid(), SMS_NUMBER, phone, "Danke! Wir haben Ihre Stimme erhalten: 1.", DURING,
                          direction="outbound-reply")["sid"] for phone in PHONES[:2]]
    stay = {twilio.add(new_message_sid(), PHONES[0], SMS_NUMBER, "another account's message", DURING,
                       account_sid="AC" + "00" * 16)["sid"],
            twilio.add(new_message_sid(), SMS_NUMBER, PHONES[0], "Erinnerung: Abstimmung bis 1. April", DURING,
                       direction="outbound-api")["sid"],  # the city's own notice, not a reply
            twilio.add(new_message_sid(), SMS_NUMBER, PHONES[0], "Danke!", DURING + timedelta(days=9),
                       direction="outbound-reply")["sid"]}  # a reply from days when this process had no message

    dry = run_cli("-C", deck.root, "purge", "--dry-run")
    assert dry.code == ExitCode.OK, dry.output
    assert "may run" in dry.out and twilio.deleted == []
    result = run_cli("-C", deck.root, "purge")
    assert result.code == ExitCode.OK, result.output
    assert "Records, votes and counts are unchanged" in result.out

    # Gone here ...
    assert query(deck, "SELECT COUNT(*) FROM sms_messages WHERE body IS NOT NULL OR phone_hash IS NOT NULL") == [(0,)]
    assert query(deck, "SELECT COUNT(*) FROM voice_calls WHERE phone_hash IS NOT NULL") == [(0,)]
    assert query(deck, "SELECT COUNT(*) FROM records WHERE phone_hash IS NOT NULL") == [(0,)]
    assert query(deck, "SELECT COUNT(*) FROM inputs WHERE archived IS NOT NULL") == [(0,)]
    assert files_under(deck.scans_dir) == []
    # ... and at Twilio: exactly our messages, our call and our replies, once each.
    assert sorted(twilio.deleted) == sorted(sids + calls + replies)
    assert [r for r in twilio.requests if r.startswith("DELETE")] == [
        f"DELETE /2010-04-01/Accounts/{SMS_ACCOUNT}/{'Messages' if sid.startswith('SM') else 'Calls'}/{sid}.json"
        for sid in twilio.deleted]
    assert {m["sid"] for m in twilio.messages} == stay and twilio.calls == []
    assert query(deck, "SELECT COUNT(*) FROM sms_messages WHERE twilio_deleted = 0") == [(0,)]
    assert query(deck, "SELECT twilio_deleted FROM voice_calls") == [(1,)]

    # Every vote, count and the audit chain stay; status agrees, and names the purge.
    assert votes(deck) == before_votes
    after_status = status_json(run_cli, deck)
    for key in ("batches", "pages", "pages_in", "records", "ballots", "review", "review_waiting", "needs_person"):
        assert after_status[key] == before_status[key], key
    assert after_status["last_purge"] and after_status["phones"]["sms_deleted_at_twilio"] == 5
    verify = run_cli("-C", deck.root, "audit", "verify", "--head", before_status["audit_head"])
    assert verify.code == ExitCode.OK, verify.output
    store = deck.open_store()
    purge_entries = [e.as_json() for e in audit.entries(store) if e.kind == "purge"]
    store.close()
    assert len(purge_entries) == 1
    body = purge_entries[0]["body"]
    assert (body["sms_bodies"], body["provider_messages_deleted"], body["provider_calls_deleted"],
            body["provider_replies_deleted"]) == (5, 5, 1, 2)
    assert body["scan_files"] == len(before_inputs) and body["crop_files"] >= 2
    assert body["provider_pending_messages"] == body["provider_pending_calls"] == 0

    # Idempotent: nothing left, nothing changed, nothing more deleted at Twilio.
    again = run_cli("-C", deck.root, "purge")
    assert again.code == ExitCode.OK, again.output
    assert "Nothing left to purge" in again.out
    assert sum(r.startswith("DELETE") for r in twilio.requests) == len(sids + calls + replies)
    assert query(deck, "SELECT COUNT(*) FROM audit WHERE kind = 'purge'") == [(1,)]
    assert status_json(run_cli, deck)["audit_head"] == after_status["audit_head"]


def test_a_failed_twilio_delete_is_retried_by_the_next_run_and_only_it(deck: Workspace, twilio, run_cli):
    sids = sorted(sid for (sid,) in query(deck, "SELECT message_sid FROM sms_messages"))
    twilio.fail_delete(sids[2])
    first = run_cli("-C", deck.root, "purge")
    assert first.code == ExitCode.TOOL_MISSING, first.output
    assert "1 message(s) and 0 call(s) are still stored at Twilio" in first.err
    assert f"message {sids[2]}: Twilio answered HTTP 500" in first.err
    assert query(deck, "SELECT message_sid FROM sms_messages WHERE twilio_deleted = 0") == [(sids[2],)]
    assert query(deck, "SELECT COUNT(*) FROM sms_messages WHERE body IS NOT NULL") == [(0,)]  # local purge done

    deleted = list(twilio.deleted)
    second = run_cli("-C", deck.root, "purge")
    assert second.code == ExitCode.OK, second.output
    assert twilio.deleted == deleted + [sids[2]]
    assert query(deck, "SELECT COUNT(*) FROM sms_messages WHERE twilio_deleted = 0") == [(0,)]
    entries = [json.loads(b) for (b,) in query(deck, "SELECT body FROM audit WHERE kind = 'purge' ORDER BY seq")]
    assert [(e["provider_messages_deleted"], e["provider_failures"], e["provider_pending_messages"]) for e in entries] \
        == [(4, 1, 1), (1, 0, 0)]
    assert run_cli("-C", deck.root, "audit", "verify").code == ExitCode.OK


def test_without_twilio_credentials_the_local_purge_runs_and_twilio_waits_for_the_next_run(deck: Workspace,
                                                                                          run_cli, monkeypatch):
    first = run_cli("-C", deck.root, "purge")
    assert first.code == ExitCode.INVALID_INPUT, first.output
    assert "5 message(s) and 1 call(s) are still stored at Twilio: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" \
        in first.err
    assert files_under(deck.scans_dir) == []
    with FakeTwilioApi(SMS_ACCOUNT, SMS_TOKEN) as api:
        for (sid,) in query(deck, "SELECT message_sid FROM sms_messages"):
            api.add(sid, PHONES[0], SMS_NUMBER, "…", DURING)
        # The call was deleted in the console meanwhile: Twilio answers 404, which counts as deleted.
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", SMS_ACCOUNT)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong" + SMS_TOKEN[5:])
        monkeypatch.setenv("HYBRID_TWILIO_API_URL", api.url)
        refused = run_cli("-C", deck.root, "purge")
        assert refused.code == ExitCode.INVALID_INPUT, refused.output
        assert "Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (HTTP 401)" in refused.err
        assert len(api.requests) == 1  # it stops at the first refusal
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", SMS_TOKEN)
        done = run_cli("-C", deck.root, "purge")
        assert done.code == ExitCode.OK, done.output
        assert len(api.deleted) == 5 and api.messages == []
    assert query(deck, "SELECT COUNT(*) FROM sms_messages WHERE twilio_deleted = 0") == [(0,)]
    assert query(deck, "SELECT twilio_deleted FROM voice_calls") == [(1,)]


def test_the_cli_refuses_a_process_that_is_still_within_retention(sms_workspace, run_cli):
    ws = sms_workspace(codes={"de": 1}, closes="2099-01-01T00:00:00+01:00")
    result = run_cli("-C", ws.root, "purge")
    assert result.code == ExitCode.INVALID_INPUT
    assert "runs until 2099-06-30T00:00:00+01:00" in result.err and "nothing was deleted" in result.err
    dry = run_cli("-C", ws.root, "purge", "--dry-run")
    assert dry.code == ExitCode.OK, dry.output
    assert "refuses until then" in dry.out


def test_unknown_files_in_scans_are_left_alone(deck: Workspace):
    (deck.scans_dir / "notes.txt").write_text("tray 7 was wet\n", encoding="utf-8")
    store = deck.open_store()
    try:
        report = purge(deck, store, clock=after_retention)
    finally:
        store.close()
    assert report.other_files == ("scans/notes.txt",)
    assert files_under(deck.scans_dir) == ["notes.txt"]
    assert report.pending_messages == 5 and report.provider is None and not report.complete


# -- identity: phone ---------------------------------------------------------------------------


@pytest.mark.usefixtures("store_engine")
def test_under_phone_identity_claims_stay_valid_under_placeholders(sms_workspace):
    ws = sms_workspace(codes={"de": 3}, opens=OPENS, closes=CLOSES, identity="phone")
    a, b, c = ws.codes["de"]
    store = ws.open_store()
    try:
        service = SmsService(store, ws.process, clock=lambda: DURING)
        for body, phone in ((f"{a} 1", PHONES[0]), (f"{b} 2", PHONES[0]), (f"{c} 3", PHONES[1]), ("HILFE", PHONES[2])):
            service.receive(InboundSms(new_message_sid(), SMS_ACCOUNT, body, phone))
        before = query(ws, "SELECT record_id, status, reasons, choices FROM records ORDER BY record_id")
        holders = {record_id for (record_id,) in query(ws, "SELECT record_id FROM claims")}
        hashes = {store.phone_hash(p) for p in PHONES}
        report = purge(Workspace(ws.root), store, clock=lambda: after_retention() + timedelta(days=400))
        assert report.done.phone_identities == 2  # the HILFE sender cast no vote: no hash kept for it
        rows = query(ws, "SELECT record_id, phone_hash FROM records WHERE phone_hash IS NOT NULL ORDER BY record_id")
        claims = query(ws, "SELECT identity, record_id FROM claims ORDER BY record_id")
        # The two votes of the first phone share one placeholder; no stored value is a phone's hash any more.
        assert len({h for _, h in rows}) == 2 and rows[0][1] == rows[1][1] != rows[2][1]
        assert all(h.startswith(PLACEHOLDER_PREFIX) for _, h in rows)
        assert {record_id for _, record_id in claims} == holders
        assert all(identity == f"phone:{dict(rows)[record_id]}" for identity, record_id in claims)
        stored = json.dumps(query(ws, "SELECT * FROM records") + query(ws, "SELECT * FROM claims")
                            + query(ws, "SELECT * FROM sms_messages"))
        assert not any(h in stored for h in hashes)
        # merge decides each identity again from what is left: nothing changes.
        for identity, _ in claims:
            with store.transaction():
                stored_votes, holder = identity_votes.read_votes(store, identity)
                assert holder is not None and len(stored_votes) >= 1
                decisions = rules.decide_votes(ws.process, [s.vote for s in stored_votes.values()])
                assert identity_votes.apply_decisions(store, identity, stored_votes, holder, decisions) == []
        assert query(ws, "SELECT record_id, status, reasons, choices FROM records ORDER BY record_id") == before
        again = purge(Workspace(ws.root), store, clock=lambda: after_retention() + timedelta(days=401))
        assert not again.done.anything and again.audit_head is None
    finally:
        store.close()


def test_the_twilio_eraser_counts_a_404_as_already_deleted():
    with FakeTwilioApi(SMS_ACCOUNT, SMS_TOKEN) as api:
        sid = new_message_sid()
        api.add(sid, PHONES[0], SMS_NUMBER, "1234", DURING)
        eraser = TwilioEraser(TwilioConfig(SMS_ACCOUNT, SMS_TOKEN, api_url=api.url))
        assert eraser.delete("message", sid) is True
        assert eraser.delete("message", sid) is False
        assert eraser.delete("call", "CA" + "00" * 16) is False
        assert api.deleted == [sid]
