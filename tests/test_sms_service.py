"""What the store holds after each message (sms.service), in-process, on SQLite and
PostgreSQL: one record per message, decisions across messages, Twilio's time later,
the claims that keep a code from being accepted twice."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import SMS_ACCOUNT

from doubles.twilio_double import new_message_sid
from hybrid import audit
from sms.service import InboundSms, SmsService

pytestmark = pytest.mark.usefixtures("store_engine")
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves (and may even move backwards, as clocks of two machines do)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def message(body: str, sender: str = "+4915112345678", sid: str | None = None, sent_at=None) -> InboundSms:
    return InboundSms(sid or new_message_sid(), SMS_ACCOUNT, body, sender, sent_at=sent_at)


@pytest.fixture
def desk(sms_workspace):
    """A workspace with conflicts: last and an open window, and a service on its store."""
    made = []

    def make(**options):
        ws = sms_workspace(codes={"de": 4, "en": 1}, **options)
        store = ws.open_store()
        service = SmsService(store, ws.process, clock=Clock())
        made.append(store)
        return ws, service

    yield make
    for store in made:
        store.close()


def test_conflicts_last_replaces_the_earlier_vote_and_moves_the_claim(desk):
    ws, service = desk(conflicts="last")
    a = ws.codes["de"][0]
    first = service.receive(message(f"{a} 1"))
    service.clock.now += timedelta(minutes=3)
    second = service.receive(message(f"{a} 2"))
    service.clock.now += timedelta(minutes=3)
    third = service.receive(message(f"{a} 2"))
    assert first.reply == "Danke! Wir haben Ihre Stimme erhalten: 1."
    assert second.reply == "Danke! Wir haben Ihre neue Stimme erhalten: 2. Sie ersetzt Ihre frühere Stimme."
    assert third.reply == "Diese Stimme hatten wir schon erhalten. Sie müssen nichts mehr tun."
    statuses = ws.query("SELECT record_id, status FROM records ORDER BY record_id")
    assert [s for _, s in statuses] == ["superseded", "counted", "duplicate"]
    assert ws.query("SELECT record_id FROM claims") == [(second.record_id,)]
    entries = [e.as_json() for e in audit.entries(service.store)]
    assert [e["kind"] for e in entries] == ["sms", "decision", "sms", "sms"]
    assert entries[1]["body"] == {"channel": "sms", "reasons": [], "record_id": first.record_id, "serial": 1,
                                  "status": "superseded"}
    assert all("choices" not in json.dumps(e) and "+49" not in json.dumps(e) for e in entries)


def test_arrival_order_holds_even_when_the_clock_goes_back(desk):
    ws, service = desk()
    a = ws.codes["de"][0]
    assert service.receive(message(f"{a} 1")).reply == "Danke! Wir haben Ihre Stimme erhalten: 1."
    service.clock.now -= timedelta(seconds=30)  # another machine's clock, a little behind
    assert service.receive(message(f"{a} 2")).reply.startswith("Für diesen Code haben wir schon eine andere Stimme")
    times = [datetime.fromisoformat(t) for (t,) in ws.query("SELECT received_at FROM records ORDER BY record_id")]
    assert times[1] > times[0]


def test_twilios_time_from_pull_can_change_which_vote_came_first(desk):
    ws, service = desk()
    a = ws.codes["de"][0]
    one, two = new_message_sid(), new_message_sid()
    assert service.receive(message(f"{a} 1", sid=one)).status.value == "counted"
    service.clock.now += timedelta(seconds=2)
    assert service.receive(message(f"{a} 2", sid=two)).status.value == "superseded"
    # Twilio says the second message was sent first (the first webhook call was slow):
    what, handled = service.backfill(message(f"{a} 2", sid=two, sent_at=START - timedelta(seconds=5)), "pull")
    assert (what, handled.status.value) == ("retimed", "counted")
    what, _ = service.backfill(message(f"{a} 1", sid=one, sent_at=START), "pull")
    assert what == "retimed"
    assert ws.query("SELECT status FROM records ORDER BY record_id") == [("superseded",), ("counted",)]
    assert ws.query("SELECT record_id FROM claims") == [(handled.record_id,)]
    assert ws.query("SELECT twilio_time, via FROM sms_messages ORDER BY record_id") == [(1, "webhook"), (1, "webhook")]
    again = service.backfill(message(f"{a} 2", sid=two, sent_at=START - timedelta(seconds=5)), "pull")
    assert again[0] == "already"


def test_backfilled_messages_are_stored_without_a_reply_being_sent(desk):
    ws, service = desk()
    what, handled = service.backfill(message("HILFE", sent_at=START), "pull")
    assert what == "stored" and handled.outcome.value == "help"
    assert ws.query("SELECT via, replied, twilio_time, sent_at FROM sms_messages") == [
        ("pull", 0, 1, "2026-03-02T09:00:00.000000+00:00")]


def test_the_ballots_language_words_the_reply(desk):
    ws, service = desk()
    english = ws.codes["en"][0]
    assert service.receive(message(f"{english} 1 6")).reply == "Thank you! We have received your vote: 1, 6."
    assert service.receive(message(f"STATUS {english}")).reply == "We have received a vote for this code."
    assert service.receive(message("HELP me")).reply.startswith("Residents' poll: the future of the Main riverbank.")
    assert service.receive(message("Hallo")).reply.startswith("Das haben wir nicht verstanden.")  # the first language


def test_every_message_has_one_record_and_nothing_of_the_sender(desk):
    ws, service = desk()
    a, b = ws.codes["de"][:2]
    bodies = [f"{a} 1", f"{a} 1", f"{b} 1 2", "STOP", "HILFE", "1 2", f"STATUS {b}", "🙂"]
    handled = [service.receive(message(body)) for body in bodies]
    assert len({h.record_id for h in handled}) == len(bodies)
    assert ws.query("SELECT COUNT(*) FROM records WHERE channel = 'sms'") == [(len(bodies),)]
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(len(bodies),)]
    hashes = ws.query("SELECT DISTINCT phone_hash FROM sms_messages")
    assert len(hashes) == 1 and len(hashes[0][0]) == 64
    assert ws.query("SELECT COUNT(*) FROM records WHERE phone_hash IS NOT NULL") == [(3,)]  # votes only
    verdict = audit.verify(service.store)
    assert verdict.ok and verdict.entries == len(bodies)


def test_a_message_taken_again_is_answered_as_before_and_changes_nothing(desk):
    # A webhook message's first attempt does not look for it first: a repeated MessageSid
    # meets the records' UNIQUE source, is rolled back, and answered from the store.
    ws, service = desk()
    a, b = ws.codes["de"][:2]
    vote, chatter = message(f"{a} 1"), message("Guten Tag")
    first = [service.receive(vote), service.receive(chatter)]
    service.clock.now += timedelta(minutes=1)
    service.receive(message(f"{b} 2"))
    again = [service.receive(vote), service.receive(chatter), service.receive(vote, "pull")]
    assert [h.replay for h in first] == [False, False] and [h.replay for h in again] == [True, True, True]
    assert [(h.record_id, h.status, h.reply) for h in again] == [
        (first[0].record_id, first[0].status, first[0].reply), (first[1].record_id, first[1].status, first[1].reply),
        (first[0].record_id, first[0].status, first[0].reply)]
    assert ws.query("SELECT COUNT(*) FROM records WHERE channel = 'sms'") == [(3,)]
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(3,)]
    assert ws.query("SELECT COUNT(*) FROM claims") == [(2,)]
    verdict = audit.verify(service.store)
    assert verdict.ok and verdict.entries == 3


def test_the_same_phone_written_differently_is_one_phone(desk):
    ws, service = desk(identity="phone")
    a, b = ws.codes["de"][:2]
    service.receive(message(f"{a} 1", sender="+49 151 12345678"))
    assert service.receive(message(f"{b} 2", sender="015112345678")).status.value == "superseded"
