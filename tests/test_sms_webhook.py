"""A citizen texts a vote: a real `hybrid sms serve` process on loopback, requests signed
as Twilio signs them, every reply read word by word (DESIGN §7). Each story runs on
SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from conftest import SMS_ACCOUNT, SMS_NUMBER, SMS_PUBLIC_URL, healthz

from doubles.twilio_double import inbound_params, new_message_sid, sign
from hybrid.codes import format_code, is_valid_code, new_code

EXAMPLE = "1234 5678 9012 1 5 10"  # the example vote our replies show for the sample poll
THANKS = "Danke! Wir haben Ihre Stimme erhalten: {}."
NOT_ACCEPTED = "Nicht angenommen: {} Bitte senden Sie Code und Nummern noch einmal."
WRONG_CODE = ("Diesen Code kennen wir nicht. Bitte prüfen Sie die 12 Ziffern und senden Sie Code und Nummern "
              f"noch einmal, z.B.: {EXAMPLE}")
ASK_CODE = f"Bitte senden Sie den 12-stelligen Code von Ihrem Stimmzettel und die Nummern Ihrer Wahl, z.B.: {EXAMPLE}"
DUPLICATE = "Diese Stimme hatten wir schon erhalten. Sie müssen nichts mehr tun."
ALREADY = "Für diesen Code haben wir schon eine andere Stimme erhalten. Diese SMS wurde nicht übernommen."

pytestmark = pytest.mark.usefixtures("store_engine")


def typo(code: str) -> str:
    """The code with one digit mistyped: the check digit catches it."""
    wrong = code[:5] + str((int(code[5]) + 3) % 10) + code[6:]
    assert not is_valid_code(wrong)
    return wrong


def never_issued(ws) -> str:
    issued = {c for codes in ws.codes.values() for c in codes}
    while True:
        code = new_code()
        if code not in issued:
            return code


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) - ord("0") + 0xFF10) if ch.isdigit() else ch for ch in text)


def arabic_indic(text: str) -> str:
    return "".join(chr(ord(ch) - ord("0") + 0x0660) if ch.isdigit() else ch for ch in text)


def sms_records(ws) -> dict[str, tuple[str, list[str]]]:
    rows = ws.query("SELECT source, status, reasons FROM records WHERE channel = 'sms'")
    return {source: (status, json.loads(reasons)) for source, status, reasons in rows}


def test_votes_in_every_form_the_grammar_takes(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 16, "en": 1})
    server = sms_server(ws)
    de, en = ws.codes["de"], ws.codes["en"][0]
    cases = [
        (f"{format_code(de[0])} 1 5 10", THANKS.format("1, 5, JA")),
        (f"{de[1]} 3 7", THANKS.format("3, 7")),
        (f"{de[2][:4]}-{de[2][4:8]}-{de[2][8:]} Nr. 4", THANKS.format("4")),
        (f"{de[3][:5]} {de[3][5:8]} {de[3][8:]} 2,9", THANKS.format("2, 9")),
        (f"Hallo, mein Code ist {format_code(de[4])}. Ich wähle 1 und 6. Danke!", THANKS.format("1, 6")),
        (f"{de[5]} ja", THANKS.format("JA")),
        (f"{de[6]} 3 NEIN", THANKS.format("3, NEIN")),
        (fullwidth(f"{de[7]} 2 8"), THANKS.format("2, 8")),
        (arabic_indic(f"{de[14]} 4") + " \u200f", THANKS.format("4")),  # with a right-to-left mark
        (f"{de[8]} 03 6", THANKS.format("3, 6")),
        (f"👍 {format_code(de[9])} 4 🎉🎉", THANKS.format("4")),
        (f"{en} 1 5 10", "Thank you! We have received your vote: 1, 5, YES."),
        # a code, but choices that cannot be taken: nothing is guessed
        (f"{de[10]} 1 2", NOT_ACCEPTED.format("Bei Frage 1 (Nr. 1 bis 4) nur 1 Antwort.")),
        (f"{de[10]} 1 99", NOT_ACCEPTED.format("Die Nummer 99 gibt es nicht (nur 1 bis 11).")),
        (f"{de[10]} nicht 3", "Nicht angenommen: Wörter wie \"nicht\" können wir nicht sicher lesen. Bitte senden Sie "
                              "nur den Code und die Nummern Ihrer Wahl."),
        (f"{de[10]} 5-7", "Nicht angenommen: Meinen Sie 5 bis 7 oder nur 5 und 7? Bitte senden Sie jede Nummer "
                          "einzeln, z.B. 3 4 5."),
        (f"{de[10]} ja nein", "Nicht angenommen: Sie haben JA und NEIN geschrieben. Bitte senden Sie den Code und nur "
                              "eines davon."),
        (de[10], f"Nicht angenommen: Es fehlen die Nummern Ihrer Wahl. Bitte senden Sie Code und Nummern zusammen, "
                 f"z.B.: {EXAMPLE}"),
        # no usable code
        ("1 5 10", ASK_CODE),
        (f"{typo(de[11])} 1", WRONG_CODE),
        (f"{never_issued(ws)} 1", WRONG_CODE),
        (f"{de[11]} {de[12]} 1", f"Bitte senden Sie nur einen Code pro SMS, mit den Nummern dazu, z.B.: {EXAMPLE}"),
        # help, status, chatter
        ("HILFE", "Bürgerbefragung: Zukunft des Mainufers. Senden Sie Code und Nummern Ihrer Wahl, z.B. "
                  f"{EXAMPLE}. Stimme erhalten? STATUS und Code senden."),
        ("?", "Bürgerbefragung: Zukunft des Mainufers. Senden Sie Code und Nummern Ihrer Wahl, z.B. "
              f"{EXAMPLE}. Stimme erhalten? STATUS und Code senden."),
        (f"Status {format_code(de[0])}", "Für diesen Code haben wir eine Stimme erhalten."),
        (f"STATUS {de[13]}", "Für diesen Code haben wir noch keine Stimme erhalten. Briefe sind einige Tage unterwegs."),
        ("status", "Bitte senden Sie STATUS und den 12-stelligen Code von Ihrem Stimmzettel, z.B.: STATUS 1234 5678 9012"),
        ("Guten Tag, wie geht das?", "Das haben wir nicht verstanden. Zum Abstimmen senden Sie Code und Nummern, "
                                     f"z.B.: {EXAMPLE}. Mehr Infos: HILFE"),
    ]
    for number, (body, expected) in enumerate(cases):
        reply = server.send(body, sender=f"+49151{number:08d}")
        assert (reply.status, reply.text) == (200, expected), body
        assert reply.raw.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')

    records = ws.query("SELECT status, COUNT(*) FROM records WHERE channel = 'sms' GROUP BY status")
    assert dict(records) == {"counted": 12, "rejected": 10, "not_a_vote": 6}
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(len(cases),)]
    counted = ws.query("SELECT choices FROM records WHERE status = 'counted' AND serial = 1")
    assert [json.loads(c) for (c,) in counted] == [{"q1": ["a"], "q2": ["a"], "q3": ["yes"]}]


def test_forged_and_misdirected_requests_are_refused_and_store_nothing(sms_workspace, sms_server):
    ws = sms_workspace()
    server = sms_server(ws, real=True)  # signatures over the public URL, at a real listening server
    code = ws.codes["de"][0]
    params = inbound_params(new_message_sid(), SMS_ACCOUNT, "+4915112345678", SMS_NUMBER, f"{code} 1 5 10")
    tampered = dict(params, Body=f"{code} 2 5 10")
    other_account = inbound_params(new_message_sid(), "AC" + "1" * 32, "+4915112345678", SMS_NUMBER, f"{code} 1")
    other_number = inbound_params(new_message_sid(), SMS_ACCOUNT, "+4915112345678", "+4915799999999", f"{code} 1")
    refused = [
        server.post(params, signature=None),  # no X-Twilio-Signature
        server.post(params, signature="bm90IGEgc2lnbmF0dXJl"),
        server.post(params, url=server.url + "/twilio/sms"),  # signed for the address behind the proxy
        server.post(params, url="https://evil.example.org/twilio/sms"),
        server.post({**tampered}, signature=sign("0" * 32, SMS_PUBLIC_URL + "/twilio/sms", tampered)),  # wrong token
        server.post(other_account),
        server.post(other_number),
    ]
    headers = {"X-Twilio-Signature": sign("0123456789abcdef0123456789abcdef", SMS_PUBLIC_URL + "/twilio/sms", params)}
    response = server.http.post("/twilio/sms", data=tampered, headers=headers)  # body changed after signing
    assert [r.status for r in refused] + [response.status_code] == [403] * 8
    assert all(r.text is None for r in refused)
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(0,)]
    assert ws.query("SELECT COUNT(*) FROM records") == [(0,)]
    assert server.http.get("/twilio/sms").status_code == 405
    health = healthz(server)
    assert health["refused_requests"] == {"bad_signature": 6, "wrong_account": 1, "wrong_number": 1}
    # A query string is part of what Twilio signs (and the same number written nationally is ours).
    ok = server.post(dict(params, To="+49 157 92418830"), path="/twilio/sms?lang=de")
    assert (ok.status, ok.text) == (200, THANKS.format("1, 5, JA"))
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(1,)]


def test_replays_duplicates_void_and_used_codes(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 4})
    server = sms_server(ws)
    a, b, c, d = ws.codes["de"]
    sid = new_message_sid()
    first = server.send(f"{a} 1 5 10", sid=sid)
    again = server.send(f"{a} 1 5 10", sid=sid)  # Twilio retrying the same message
    assert first.text == again.text == THANKS.format("1, 5, JA")
    assert ws.query("SELECT COUNT(*) FROM sms_messages WHERE message_sid = ?", (sid,)) == [(1,)]
    assert server.send(f"{format_code(a)} 10 5 1").text == DUPLICATE  # the same vote, written differently
    assert server.send(f"{a} 2").text == ALREADY  # conflicts: first
    assert server.send(f"STATUS {a}").text == "Für diesen Code haben wir eine Stimme erhalten."

    store = ws.open_store()
    with store.transaction():
        store.void_ballot(2, "lost")  # serial 2 is b
        for serial, code, choices in ((3, c, {"q1": ["a"]}), (4, d, {"q1": ["d"]})):  # paper ballots of c, d
            store.conn.execute(
                "INSERT INTO records (channel, code_hash, serial, source, received_at, status, reasons, choices, "
                "updated_at) VALUES ('paper', ?, ?, ?, '2026-01-05', 'counted', '[]', ?, 'now')",
                (store.code_hash(code), serial, f"scan:{serial:064x}#p1", json.dumps(choices)))
    store.close()
    assert server.send(f"{b} 1").text == "Dieser Code gilt nicht mehr. Bitte nutzen Sie den Code auf Ihrem neuen Stimmzettel."
    assert server.send(f"{c} 1").text == DUPLICATE  # what the paper ballot said
    assert server.send(f"{d} 1").text == ("Wir haben Ihre SMS erhalten. Für diesen Code gibt es noch eine andere "
                                          "Stimme. Wir prüfen das.")
    by_serial = dict(ws.query("SELECT serial || channel, status || ' ' || reasons FROM records WHERE serial IN (2, 3, 4)"))
    assert by_serial == {"2sms": 'rejected ["void_code"]', "3paper": "counted []", "3sms": "duplicate []",
                         "4paper": 'review ["cross_channel_conflict"]', "4sms": 'review ["cross_channel_conflict"]'}
    claims = ws.query("SELECT COUNT(*) FROM claims")
    assert claims == [(2,)]  # a (its SMS) and c (the paper ballot); d is in review
    assert ws.query("SELECT COUNT(*) FROM records WHERE status = 'counted' AND serial = 1") == [(1,)]


def test_after_closing_time_and_before_opening(sms_workspace, sms_server):
    closed = sms_workspace(opens="2020-03-01T00:00:00+01:00", closes="2021-01-01T00:00:00+01:00")
    server = sms_server(closed)
    code = closed.codes["de"][0]
    gone = "Die Abstimmung ist vorbei (letzter Tag: 31.12.2020). Ihre SMS wurde nicht übernommen."
    assert server.send(f"{code} 1 5 10").text == gone
    assert server.send(f"{code} 1 2").text == gone  # content does not matter any more
    assert server.send("1 5 10").text == gone
    assert server.send(f"STATUS {code}").text == ("Für diesen Code haben wir noch keine Stimme erhalten. Briefe sind "
                                                  "einige Tage unterwegs.")
    assert sorted(sms_records(closed).values()) == [
        ("not_a_vote", []), ("rejected", ["late"]), ("rejected", ["late"]), ("rejected", ["late", "no_code"])]
    server.stop()

    later = sms_workspace(opens="2098-03-01T09:30:00+01:00", closes="2099-01-01T00:00:00+01:00")
    server = sms_server(later)
    assert server.send(f"{later.codes['de'][0]} 1").text == (
        "Die Abstimmung beginnt am 01.03.2098 um 09:30 Uhr. Bitte senden Sie Ihre Stimme ab dann noch einmal.")
    assert list(sms_records(later).values()) == [("rejected", ["early"])]


def test_twilio_keywords_long_bodies_and_hidden_callers(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 4})
    server = sms_server(ws)
    for keyword in ("STOP", "stop", "Unsubscribe", "START", "YES", "QUIT"):
        reply = server.send(keyword)
        assert (reply.status, reply.text, reply.raw) == (200, None, '<?xml version="1.0" encoding="UTF-8"?><Response />')
    assert server.send("INFO").text.startswith("Bürgerbefragung: Zukunft des Mainufers. Senden Sie Code")
    assert server.send("STOPP").raw.endswith("<Response />")  # a German opt-out: no reply, as for STOP …
    assert server.send("STOPP", OptOutType="STOP").text is None  # … also when Advanced Opt-Out names it

    a, b, c, _ = ws.codes["de"]
    long_vote = f"{a} 2 6 " + "bitte " * 1700  # 10 KB; only the first 1,600 characters are read
    assert len(long_vote.encode()) > 10_000
    assert server.send(long_vote).text == THANKS.format("2, 6")
    assert server.send("🗳️" * 2500).text.startswith("Das haben wir nicht verstanden.")

    # A withheld number counts under identity: code, and is never locked out.
    for n in range(7):
        assert server.send(f"{typo(b)} {n}", sender="+266696687").text == WRONG_CODE
    assert server.send(f"{b} 1", sender="Anonymous").text == THANKS.format("1")
    assert server.send(f"{c} 1", sender="+86282452253").text == THANKS.format("1")
    assert ws.query("SELECT COUNT(*) FROM sms_messages WHERE hidden_caller = 1 AND phone_hash IS NULL") == [(9,)]

    statuses = ws.query("SELECT status, COUNT(*) FROM records WHERE channel = 'sms' GROUP BY status")
    assert dict(statuses) == {"not_a_vote": 10, "counted": 3, "rejected": 7}


def test_hidden_callers_are_refused_under_phone_identity(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 3}, identity="phone")
    server = sms_server(ws)
    a, b, _ = ws.codes["de"]
    hidden = "Ihre Rufnummer ist unterdrückt. Bitte senden Sie die SMS noch einmal mit sichtbarer Rufnummer."
    assert server.send(f"{a} 1", sender="+266696687").text == hidden
    assert server.send(f"{a} 1", sender="+4915112345678").text == THANKS.format("1")
    assert server.send(f"{b} 2", sender="+4915112345678").text == ALREADY  # one vote per phone
    assert server.send(f"{a} 3", sender="+4915187654321").text == THANKS.format("3")  # a code is no identity here
    assert sorted(sms_records(ws).values()) == [
        ("counted", []), ("counted", []), ("rejected", []), ("superseded", [])]


def test_wrong_codes_lock_a_phone_out_and_raise_the_alarm(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 2})
    server = sms_server(ws)
    code = ws.codes["de"][0]
    guesser = "+4915100000666"
    for n in range(5):
        assert server.send(f"{typo(code)} {n}", sender=guesser).text == WRONG_CODE
    locked = ("Von diesem Telefon kamen zu viele falsche Codes. Bitte versuchen Sie es später noch einmal. Sie können "
              "auch per Post abstimmen.")
    assert server.send(f"{code} 1", sender=guesser).text == locked  # not even a right code, for an hour
    assert server.send("STOP", sender=guesser).text is None  # Twilio's keywords still work
    assert server.send(f"{code} 1", sender="+4915100000777").text == THANKS.format("1")  # another phone
    assert healthz(server)["wrong_code_alarm"] is False

    for n in range(50):  # many phones, a few wrong codes each: the process-wide alarm
        server.send(f"{never_issued(ws)} 1", sender=f"+49152{n // 4:08d}")
    health = healthz(server)
    assert health["wrong_code_alarm"] is True and health["wrong_codes_last_hour"] == 55
    assert ws.query("SELECT kind FROM audit WHERE kind = 'sms_alarm'") == [("sms_alarm",)]
    assert "ALARM: 51 wrong codes in the last hour" in server.log()


def test_no_number_is_stored_or_logged(sms_workspace, sms_server, store_engine):
    ws = sms_workspace(codes={"de": 2})
    server = sms_server(ws, args=("--access-log",))
    sender, national = "+4915112345678", "15112345678"
    server.send(f"{ws.codes['de'][0]} 1 5 10", sender=sender, FromCity="WUERZBURG", FromZip="97070")
    server.send("HILFE", sender=sender, FromCity="WUERZBURG", FromZip="97070")
    server.send(f"{typo(ws.codes['de'][1])} 1", sender=sender)
    server.post(inbound_params(new_message_sid(), SMS_ACCOUNT, sender, SMS_NUMBER, "x"), signature="forged")
    dump = []
    for table in ("records", "sms_messages", "audit", "claims", "meta"):
        dump += [repr(row) for row in ws.query(f"SELECT * FROM {table}")]
    text = "\n".join(dump)
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(3,)]
    code = ws.codes["de"][0]
    for secret in (national, "15792418830", "WUERZBURG", "97070", code, format_code(code), code[:4] + " " + code[4:8],
                   typo(ws.codes["de"][1])):
        assert secret not in text, secret
    assert ws.query("SELECT body FROM sms_messages WHERE body LIKE '%1 5 10'") == [("#### #### #### 1 5 10",)] or \
        ws.query("SELECT body FROM sms_messages WHERE body LIKE '%1 5 10'") == [("############ 1 5 10",)]
    if store_engine == "sqlite":
        raw = b"".join(p.read_bytes() for p in ws.root.glob("hybrid.db*"))
        assert national.encode() not in raw and b"WUERZBURG" not in raw
    server.stop()
    log = server.log()
    assert "POST /twilio/sms" in log  # the access log is on …
    assert national not in log and "15792418830" not in log  # … and shows no number


def test_german_opt_out_is_stored_and_never_answered(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 1})
    server = sms_server(ws)
    bodies = ("STOPP", "stopp!", "  Abmelden. ", "ABMELDEN", "Stop.", "stop")
    for body in bodies:
        reply = server.send(body, sender="+4915112340000")
        assert (reply.status, reply.text) == (200, None), body
        assert reply.raw.endswith("<Response />")
    rows = ws.query("SELECT m.intent, m.outcome, m.reply, r.status, r.code_hash FROM sms_messages m "
                    "JOIN records r ON r.record_id = m.record_id ORDER BY m.stored_at")
    assert [row[0] for row in rows] == ["opt_out"] * 5 + ["twilio_keyword"]
    assert {row[1:] for row in rows} == {("no_reply", None, "not_a_vote", None)}
    # an opt-out is no wrong code: the phone can still vote afterwards
    assert server.send(f"{ws.codes['de'][0]} 1", sender="+4915112340000").text == THANKS.format("1")


def test_mms_gets_told_photos_cannot_be_read(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 2, "en": 1})
    server = sms_server(ws)
    (a, b), en = ws.codes["de"], ws.codes["en"][0]
    photo_de = f"Fotos können wir nicht lesen. Bitte senden Sie Code und Nummern als Text, z.B.: {EXAMPLE}"
    photo_en = f"We cannot read photos. Please send your code and numbers as text, e.g.: {EXAMPLE}"
    mms = {"NumMedia": "1", "MediaContentType0": "image/jpeg",
           "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"}
    assert server.send("", **mms).text == photo_de  # a photo of the ballot, no text: the process's first language
    assert server.send("Hier mein Stimmzettel", **mms).text == photo_de
    assert server.send(f"{typo(a)} 1", **mms).text == photo_de  # a mistyped code in an MMS: not counted as wrong
    assert server.send(f"{en} 1 2", **mms).text == photo_en  # the code's ballot is English; 1 2 is an overvote
    # text carrying a valid vote: the vote counts, and the reply says the photo was ignored
    assert server.send(f"{a} 1 5", **mms).text == THANKS.format("1, 5") + " Das Foto haben wir nicht gelesen."
    assert server.send(f"{a} 1 5", **mms).text == DUPLICATE + " Das Foto haben wir nicht gelesen."
    assert server.send(f"{b} 3", NumMedia="2").text == THANKS.format("3") + " Das Foto haben wir nicht gelesen."

    rows = ws.query("SELECT m.num_media, m.outcome, m.wrong_code, m.detail, r.status FROM sms_messages m "
                    "JOIN records r ON r.record_id = m.record_id ORDER BY m.stored_at")
    assert [(media, outcome, wrong, status) for media, outcome, wrong, _, status in rows] == [
        (1, "photo", 0, "not_a_vote"), (1, "photo", 0, "not_a_vote"), (1, "photo", 0, "not_a_vote"),
        (1, "photo", 0, "not_a_vote"), (1, "received", 0, "counted"), (1, "duplicate", 0, "duplicate"),
        (2, "received", 0, "counted")]
    assert all(json.loads(detail)["photo_ignored"] for *_, detail, _ in rows)
    assert not ws.query("SELECT 1 FROM sms_messages WHERE body LIKE '%twilio.com%'")  # media URLs are not kept
