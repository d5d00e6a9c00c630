"""Whole phone calls played through a real `hybrid sms serve` process on loopback, every
callback signed as Twilio signs it, on SQLite and PostgreSQL: the TwiML a caller hears
and what the store holds after each call."""

from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import REPO, SMS_ACCOUNT, SMS_NUMBER, SMS_PUBLIC_URL, SmsWorkspace, healthz

from hybrid import audit
from hybrid.codes import format_code, is_valid_code, new_code

VOICE_NUMBER = "+4993146500190"  # channels.voice.number of the sample poll and budget
CALLER = "+4915112345678"
DE = ("Polly.Vicki-Neural", "de-DE")
EN = ("Polly.Amy-Neural", "en-GB")

pytestmark = pytest.mark.usefixtures("store_engine")


# -- a phone, as Twilio drives the webhook for one call --------------------------------------


@dataclass
class Said:
    """One TwiML answer: its sentences, the Gather (if any) and whether it hangs up."""

    status: int
    raw: str
    lines: list[str] = field(default_factory=list)
    voices: list[tuple[str, str]] = field(default_factory=list)
    rates: list[str] = field(default_factory=list)
    gather: dict | None = None
    redirect: str | None = None
    hangs_up: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    def says(self, *parts: str) -> bool:
        return all(part in self.text for part in parts)


def parse(status: int, raw: str) -> Said:
    said = Said(status, raw)
    if status != 200:
        return said
    root = ElementTree.fromstring(raw.encode())
    assert root.tag == "Response"
    for element in root.iter():
        if element.tag == "Say":
            prosody = element.find("prosody")
            assert prosody is not None and prosody.find("break") is not None, raw
            said.lines.append("".join(prosody.itertext()).strip())
            said.voices.append((element.get("voice"), element.get("language")))
            said.rates.append(prosody.get("rate"))
    gather = root.find("Gather")
    if gather is not None:
        said.gather = dict(gather.attrib)
        assert [child.tag for child in gather] == ["Say"] * len(gather), raw
    redirect = root.find("Redirect")
    said.redirect = redirect.text if redirect is not None else None
    said.hangs_up = root.find("Hangup") is not None
    return said


class Phone:
    """One call to the voice number: `dial`, then `press` keys, `wait` in silence, `hang_up`."""

    def __init__(self, server, caller: str = CALLER, to: str = VOICE_NUMBER) -> None:
        self.server = server
        self.caller = caller
        self.to = to
        self.sid = "CA" + secrets.token_hex(16)
        self.action: str | None = None
        self.heard: list[Said] = []

    def params(self, **extra: str) -> dict[str, str]:
        params = {"AccountSid": SMS_ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": self.sid,
                  "CallStatus": "in-progress",
                  "Called": self.to, "CalledCity": "WUERZBURG", "CalledCountry": "DE", "Caller": self.caller,
                  "CallerCity": "WUERZBURG", "CallerCountry": "DE", "CallerZip": "97070", "Direction": "inbound",
                  "From": self.caller, "FromCity": "WUERZBURG", "FromCountry": "DE", "FromZip": "97070",
                  "To": self.to, "ToCity": "WUERZBURG", "ToCountry": "DE"}
        params.update(extra)
        return params

    def _post(self, path: str, params: dict[str, str]) -> Said:
        reply = self.server.post(params, path=path)
        assert reply.status == 200, f"{reply.status} {reply.raw}\n{self.server.log()}"
        said = parse(reply.status, reply.raw)
        self.heard.append(said)
        if said.gather is not None:
            action = urlsplit(said.gather["action"])
            assert f"{action.scheme}://{action.netloc}" == SMS_PUBLIC_URL
            assert said.redirect == said.gather["action"]
            self.action = action.path + "?" + action.query
        return said

    def dial(self) -> Said:
        return self._post("/twilio/voice", self.params(CallStatus="ringing"))

    def press(self, digits: str, key: str = "#") -> Said:
        assert self.action is not None, "nothing is listening"
        return self._post(self.action, self.params(Digits=digits, FinishedOnKey=key))

    def wait(self) -> Said:
        """The Gather times out without a key."""
        return self.press("", key="")

    def hang_up(self, status: str = "completed") -> Said:
        return self._post("/twilio/voice/status", self.params(CallStatus=status, CallDuration="42"))

    def code(self, code: str) -> Said:
        return self.press(format_code(code).replace(" ", ""))


def typo(code: str) -> str:
    wrong = code[:5] + str((int(code[5]) + 3) % 10) + code[6:]
    assert not is_valid_code(wrong)
    return wrong


def never_issued(ws: SmsWorkspace) -> str:
    issued = {c for codes in ws.codes.values() for c in codes}
    while (code := new_code()) in issued:
        pass
    return code


def voice_records(ws: SmsWorkspace) -> list[tuple]:
    return ws.query("SELECT source, status, reasons, choices, own_status, hidden_caller, phone_hash IS NOT NULL "
                    "FROM records WHERE channel = 'voice' ORDER BY record_id")


def calls(ws: SmsWorkspace) -> dict[str, tuple]:
    rows = ws.query("SELECT call_sid, outcome, wrong_codes, record_id, code_hash IS NOT NULL FROM voice_calls")
    return {row[0]: row[1:] for row in rows}


def vote_poll(phone: Phone, code: str, *numbers: str) -> Said:
    """Dial, the code, one number (or # to skip) for each of the sample poll's questions."""
    phone.dial()
    phone.code(code)
    said = None
    for number in numbers:
        said = phone.press(number) if number != "#" else phone.press("", key="#")
    return said


# -- a budget workspace (the sample budget, open now) ----------------------------------------


@pytest.fixture
def budget_workspace(tmp_path: Path, request: pytest.FixtureRequest):
    """`budget_workspace(codes=3)`: the sample budget, open now, with issued German ballots."""
    import os

    from forms.compose import BallotComposer

    def make(codes: int = 3) -> SmsWorkspace:
        root = tmp_path / "budget"
        root.mkdir()
        text = (REPO / "hybrid" / "examples" / "budget.yaml").read_text(encoding="utf-8")
        text = re.sub(r"(?m)^opens: .*$", "opens: 2020-01-01T00:00:00+01:00", text)
        text = re.sub(r"(?m)^closes: .*$", "closes: 2099-01-01T00:00:00+01:00", text)
        (root / "process.yaml").write_text(text, encoding="utf-8")
        ws = SmsWorkspace(root, {}, os.environ.get("HYBRID_DATABASE_URL"))
        store = ws.open_store(create=True)
        try:
            layout = BallotComposer(ws.process, "de", False).compose().layout
            plain = [new_code() for _ in range(codes)]
            with store.transaction():
                store.save_layout(layout)
                run = store.start_print_run(1, codes, layout.layout_hash, "test")
                store.issue_ballots(run, layout.layout_hash, [(i + 1, store.code_hash(c)) for i, c in enumerate(plain)])
        finally:
            store.close()
        ws.codes["de"] = plain
        return ws

    return make


# -- the calls ---------------------------------------------------------------------------------


def test_a_clean_vote_from_greeting_to_received(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 2})
    server = sms_server(ws)
    code = ws.codes["de"][0]
    phone = Phone(server)

    hello = phone.dial()
    assert hello.lines == [
        "Guten Tag. Hier stimmen Sie per Telefon ab. Bürgerbefragung: Zukunft des Mainufers.",
        "For English, press 9.",
        "Bitte geben Sie den 12-stelligen Code von Ihrem Stimmzettel ein. Drücken Sie danach die Raute-Taste.",
        "Zum Wiederholen drücken Sie die Stern-Taste. Hilfe gibt es mit der 0.",
    ]
    assert hello.voices == [DE, EN, DE, DE]  # the English offer in an English voice
    assert set(hello.rates) == {"85%"}
    assert hello.gather == {"input": "dtmf", "action": f"{SMS_PUBLIC_URL}/twilio/voice/gather?step=2", "method": "POST",
                            "finishOnKey": "#", "timeout": "10", "actionOnEmptyResult": "true"}
    assert not hello.hangs_up

    first = phone.code(code)
    assert first.lines[:5] == [
        "Danke, der Code ist gültig.",
        "Frage 1 von 3: Wie soll das Mainufer zwischen Alter Mainbrücke und Friedensbrücke vor allem genutzt werden?",
        "Sie können eine Antwort wählen.",
        ("Drücken Sie die Nummer Ihrer Wahl und dann die Raute-Taste. Sie müssen nicht warten, bis alles vorgelesen "
         "ist."),
        "Nummer 1: Als ruhige Grünfläche zum Verweilen.",
    ]
    assert "Nummer 4: So lassen, wie es heute ist." in first.lines
    assert first.gather["timeout"] == "8" and "numDigits" not in first.gather

    second = phone.press("1")
    assert second.lines[0] == "Gewählt: Nummer 1, Als ruhige Grünfläche zum Verweilen."
    assert second.says("Frage 2 von 3", "Sie können bis zu 2 Antworten wählen.",
                       "Nummer 9: Bessere Beleuchtung am Abend.")
    phone.press("5")
    third = phone.press("9")  # two answers: the most question 2 allows, on to question 3
    assert third.lines[:3] == ["Gewählt: Nummer 9, Bessere Beleuchtung am Abend.",
                               "Mehr geht bei dieser Frage nicht.",
                               "Frage 3 von 3: Soll der Parkplatz am Kranenkai zugunsten einer Grünfläche wegfallen?"]
    check = phone.press("10")
    assert check.lines == [
        "Gewählt: Nummer 10, Ja.",
        "Bitte prüfen Sie Ihre Wahl.",
        "Frage 1: Nummer 1, Als ruhige Grünfläche zum Verweilen.",
        "Frage 2: Nummer 5, Mehr Sitzbänke und Schatten und Nummer 9, Bessere Beleuchtung am Abend.",
        "Frage 3: Nummer 10, Ja.",
        "Wenn das stimmt, drücken Sie die 1. Um etwas zu ändern, drücken Sie die 2.",
    ]
    assert check.gather["numDigits"] == "1"
    assert voice_records(ws) == []  # nothing before the caller confirms

    done = phone.press("1", key="")
    assert done.lines == ["Vielen Dank. Wir haben Ihre Stimme erhalten.", "Auf Wiederhören."]
    assert done.hangs_up and done.gather is None
    assert voice_records(ws) == [(f"voice:{phone.sid}", "counted", "[]",
                                  json.dumps({"q1": ["a"], "q2": ["a", "e"], "q3": ["yes"]}), "counted", 0, 1)]
    assert calls(ws)[phone.sid][:2] == ("received", 0)
    assert ws.query("SELECT COUNT(*) FROM claims") == [(1,)]
    received_at, serial = ws.query("SELECT received_at, serial FROM records WHERE channel = 'voice'")[0]
    assert serial == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", received_at)

    store = ws.open_store()
    try:
        entries = [e.as_json() for e in audit.entries(store)]
        assert [e["kind"] for e in entries] == ["voice"]
        assert entries[0]["body"] == {"source": f"voice:{phone.sid}", "record_id": entries[0]["body"]["record_id"],
                                      "status": "counted", "reasons": [], "outcome": "received", "serial": 1}
        assert audit.verify(store).ok
    finally:
        store.close()

    # What Twilio sends again changes nothing: the confirmation, an old step, the first request.
    assert phone.press("1", key="").hangs_up
    assert phone.dial().hangs_up
    assert len(voice_records(ws)) == 1

    dump = "\n".join(repr(row) for table in ("records", "voice_calls", "audit", "claims")
                     for row in ws.query(f"SELECT * FROM {table}"))
    for secret in (code, format_code(code), CALLER, CALLER[3:], "WUERZBURG", "97070"):
        assert secret not in dump, secret


def test_wrong_codes_then_the_right_one_and_three_tries_at_most(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 2})
    server = sms_server(ws)
    code = ws.codes["de"][0]
    phone = Phone(server)
    phone.dial()
    short = phone.press(code[:11])
    assert short.lines[:2] == ["Der Code hat 12 Ziffern. Wir haben 11 Ziffern erhalten.",
                               "Bitte geben Sie den Code noch einmal ein und drücken Sie dann die Raute-Taste."]
    wrong = phone.press(typo(code))
    assert wrong.lines[0] == "Diesen Code kennen wir nicht. Bitte prüfen Sie die 12 Ziffern."
    help_ = phone.press("0")
    assert help_.lines[0].startswith("Den Code finden Sie auf Ihrem Stimmzettel: 12 Ziffern in drei Gruppen")
    right = phone.code(code)
    assert right.lines[0] == "Danke, der Code ist gültig."
    phone.press("2"), phone.press("", key="#")
    assert phone.press("11").says("Frage 2: keine Antwort.")
    assert phone.press("1", key="").lines[0] == "Vielen Dank. Wir haben Ihre Stimme erhalten."
    outcome, wrong_codes, record_id, has_code = calls(ws)[phone.sid]
    assert (outcome, wrong_codes, has_code) == ("received", 1, 1) and record_id  # a short code is no wrong code
    assert [json.loads(r[3]) for r in voice_records(ws)] == [{"q1": ["b"], "q3": ["no"]}]

    unlucky = Phone(server, caller="+4915199999999")
    unlucky.dial()
    unlucky.press(never_issued(ws))
    unlucky.press("123")
    bye = unlucky.press(typo(ws.codes["de"][1]))
    assert bye.lines == ["Diesen Code kennen wir nicht. Bitte prüfen Sie die 12 Ziffern.",
                         ("Leider hat es mit dem Code nicht geklappt. Bitte prüfen Sie Ihren Stimmzettel und rufen "
                          "Sie später noch einmal an."),
                         "Sie können auch per Post abstimmen.", "Auf Wiederhören."]
    assert bye.hangs_up
    assert calls(ws)[unlucky.sid] == ("too_many_tries", 2, None, 0)
    assert healthz(server)["wrong_codes_last_hour"] == 3


def test_changing_the_choices_before_confirming(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 1})
    server = sms_server(ws)
    phone = Phone(server)
    vote_poll(phone, ws.codes["de"][0], "2", "6", "#", "#")
    change = phone.press("2", key="")
    assert change.lines[0] == "Sie können Ihre Wahl jetzt ändern. Wir beginnen wieder mit der ersten Frage."
    assert change.says("Bisher gewählt: Nummer 2, Für Gastronomie und Veranstaltungen.",
                       "Um das zu behalten, drücken Sie nur die Raute-Taste.")
    phone.press("3")  # question 1: another answer
    q2 = phone.heard[-1]
    assert q2.says("Bisher gewählt: Nummer 6, Trinkwasserbrunnen.", "Sie können noch eine weitere wählen.")
    assert phone.press("6").lines[:2] == ["Nummer 6 ist nicht mehr gewählt.", "Sie können noch 2 weitere wählen."]
    phone.press("7")
    phone.press("", key="#")
    check = phone.press("11")
    assert check.says("Frage 1: Nummer 3, Für Sport und Bewegung.", "Frage 2: Nummer 7, Öffentliche Toiletten.",
                      "Frage 3: Nummer 11, Nein.")
    assert phone.press("*", key="").lines == check.lines[1:]  # * repeats the read-back
    phone.press("1", key="")
    assert [json.loads(r[3]) for r in voice_records(ws)] == [{"q1": ["c"], "q2": ["c"], "q3": ["no"]}]


def test_a_call_that_hangs_up_before_confirming_counts_nothing(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 1})
    server = sms_server(ws)
    code = ws.codes["de"][0]
    phone = Phone(server)
    vote_poll(phone, code, "1", "5", "#", "10")
    assert phone.heard[-1].gather["numDigits"] == "1"  # the read-back, waiting for 1 or 2
    assert phone.hang_up().raw == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert voice_records(ws) == []
    assert calls(ws)[phone.sid] == ("hung_up", 0, None, 1)
    assert phone.press("1", key="").hangs_up  # a late callback of the ended call
    assert voice_records(ws) == [] and ws.query("SELECT COUNT(*) FROM claims") == [(0,)]

    quiet = Phone(server)  # three prompts without a key end the call too
    quiet.dial()
    assert quiet.wait().lines[0] == "Wir haben keine Eingabe gehört."
    quiet.wait()
    assert quiet.wait().lines[-2:] == [("Wir haben keine Eingabe erhalten. Ihre Stimme wurde nicht abgegeben. "
                                        "Bitte rufen Sie noch einmal an."), "Auf Wiederhören."]
    assert calls(ws)[quiet.sid][0] == "no_input"
    assert quiet.hang_up().status == 200 and calls(ws)[quiet.sid][0] == "no_input"

    # The code is still unused: a text message with it is received.
    assert server.send(f"{code} 2").text == "Danke! Wir haben Ihre Stimme erhalten: 2."


def test_a_budget_says_the_money_left_after_each_choice(budget_workspace, sms_server):
    ws = budget_workspace()
    server = sms_server(ws)
    phone = Phone(server)
    phone.dial()
    intro = phone.code(ws.codes["de"][0])
    assert intro.lines[1] == ("Bürgerhaushalt Würzburg 2027. Sie verteilen 500.000 Euro auf Vorschläge Ihrer Wahl. "
                              "Jeder Vorschlag hat eine Nummer und einen Preis.")
    assert "Nummer 3: Sichere Fahrradabstellanlage am Hauptbahnhof, 165.000 Euro." in intro.lines
    assert "Nummer 34: Barrierefreie Bushaltestelle am Juliusspital, 48.000 Euro." in intro.lines
    assert phone.press("3").lines[:2] == [("Gewählt: Nummer 3, Sichere Fahrradabstellanlage am Hauptbahnhof, "
                                           "165.000 Euro."), "Es bleiben noch 335.000 Euro."]
    assert phone.press("10").lines[1] == "Es bleiben noch 155.000 Euro."
    assert phone.press("33").lines[1] == "Es bleiben noch 45.000 Euro."
    refused = phone.press("4")
    assert refused.lines[0] == ("Nummer 4 kostet 92.000 Euro. Dafür reicht das Geld nicht mehr: Es bleiben noch "
                                "45.000 Euro.")
    assert phone.press("40").lines[0] == "Die Nummer 40 gibt es nicht. Hier sind es die Nummern 1 bis 34."
    spent = phone.press("9")  # exactly the rest: nothing else fits, on to the read-back
    assert spent.lines[:4] == ["Gewählt: Nummer 9, Calisthenics-Anlage am Hubland, 45.000 Euro.",
                               "Es bleiben noch 0 Euro.", "Das Geld reicht für keinen weiteren Vorschlag.",
                               "Bitte prüfen Sie Ihre Wahl."]
    assert spent.lines[4:] == ["Nummer 3, Sichere Fahrradabstellanlage am Hauptbahnhof, 165.000 Euro.",
                               "Nummer 9, Calisthenics-Anlage am Hubland, 45.000 Euro.",
                               "Nummer 10, Öffentliche Toilette an der Talavera, 180.000 Euro.",
                               "Nummer 33, Skateanlage Zellerau erweitern, 110.000 Euro.",
                               "Zusammen 500.000 Euro.",
                               "Wenn das stimmt, drücken Sie die 1. Um etwas zu ändern, drücken Sie die 2."]
    phone.press("1", key="")
    assert [(r[1], json.loads(r[3])) for r in voice_records(ws)] == [
        ("counted", {"budget": ["133", "141", "142", "169"]})]

    empty = Phone(server)  # a budget with nothing chosen cannot be confirmed
    empty.dial()
    empty.code(ws.codes["de"][1])
    assert empty.press("", key="#").lines == ["Sie haben noch nichts gewählt. Um zu wählen, drücken Sie die 2."]
    assert empty.press("1", key="").lines == ["Bitte drücken Sie die 1 oder die 2.",
                                              "Sie haben noch nichts gewählt. Um zu wählen, drücken Sie die 2."]
    assert len(voice_records(ws)) == 1


def test_a_code_already_used_on_paper_or_by_phone(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 3})
    server = sms_server(ws)
    paper_same, paper_other, by_phone = ws.codes["de"]
    store = ws.open_store()
    with store.transaction():
        for serial, code in ((1, paper_same), (2, paper_other)):
            store.conn.execute(
                "INSERT INTO records (channel, code_hash, serial, source, received_at, status, reasons, choices, "
                "updated_at) VALUES ('paper', ?, ?, ?, '2026-01-05', 'counted', '[]', ?, 'now')",
                (store.code_hash(code), serial, f"scan:{serial:064x}#p1", json.dumps({"q1": ["a"]})))
    store.close()

    same = Phone(server)
    same.dial()
    hint = same.code(paper_same)
    assert hint.lines[1] == ("Hinweis: Für diesen Code haben wir schon eine Stimme erhalten. Sie müssen nichts mehr "
                             "tun und können jetzt auflegen.")
    same.press("1"), same.press("", key="#"), same.press("", key="#")
    assert same.press("1", key="").lines[0] == "Diese Stimme hatten wir schon erhalten. Sie müssen nichts mehr tun."

    other = Phone(server)
    vote_poll(other, paper_other, "2", "#", "#")
    assert other.press("1", key="").lines[0] == ("Wir haben Ihre Stimme erhalten. Für diesen Code gibt es noch eine "
                                                 "andere Stimme. Wir prüfen das.")
    states = dict(ws.query("SELECT serial || channel, status || ' ' || reasons FROM records"))
    assert states == {"1paper": "counted []", "1voice": "duplicate []",
                      "2paper": 'review ["cross_channel_conflict"]', "2voice": 'review ["cross_channel_conflict"]'}

    first = Phone(server)
    vote_poll(first, by_phone, "4", "#", "#")
    first.press("1", key="")
    assert server.send(f"{by_phone} 3").text == ("Für diesen Code haben wir schon eine andere Stimme erhalten. Diese "
                                                  "SMS wurde nicht übernommen.")
    again = Phone(server, caller="+4915187654321")
    vote_poll(again, by_phone, "3", "#", "#")
    assert again.press("1", key="").lines[0] == ("Für diesen Code haben wir schon eine andere Stimme erhalten. Diese "
                                                 "Stimme wurde nicht übernommen.")
    assert ws.query("SELECT status FROM records WHERE serial = 3 ORDER BY record_id") == [
        ("counted",), ("superseded",), ("superseded",)]
    holder = "SELECT r.channel FROM claims c JOIN records r ON r.record_id = c.record_id WHERE r.serial = 3"
    assert ws.query(holder) == [("voice",)]


def test_a_hidden_caller_id_counts_under_code_identity(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 2})
    server = sms_server(ws)
    phone = Phone(server, caller="+266696687")
    vote_poll(phone, ws.codes["de"][0], "1", "#", "#")
    assert phone.press("1", key="").lines[0] == "Vielen Dank. Wir haben Ihre Stimme erhalten."
    assert [(r[1], r[5], r[6]) for r in voice_records(ws)] == [("counted", 1, 0)]  # hidden, no phone hash
    assert ws.query("SELECT hidden_caller, phone_hash FROM voice_calls") == [(1, None)]

    for _ in range(2):  # hidden callers are exempt from the per-phone lock-out
        guesser = Phone(server, caller="Anonymous")
        guesser.dial()
        for _ in range(3):
            guesser.press(never_issued(ws))
    last = Phone(server, caller="+266696687")
    assert last.dial().lines[0].startswith("Guten Tag.")


def test_a_hidden_caller_id_is_refused_under_phone_identity(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 2}, identity="phone")
    server = sms_server(ws)
    hidden = Phone(server, caller="+266696687")
    refused = hidden.dial()
    assert refused.lines == ["Ihre Rufnummer ist unterdrückt. Bitte rufen Sie mit sichtbarer Rufnummer noch einmal an.",
                             "Auf Wiederhören."]
    assert refused.hangs_up and refused.gather is None
    assert calls(ws)[hidden.sid][0] == "hidden_caller"

    phone = Phone(server)
    vote_poll(phone, ws.codes["de"][0], "1", "#", "#")
    phone.press("1", key="")
    again = Phone(server)  # the same phone, another code: one vote per phone
    again.dial()
    assert again.code(ws.codes["de"][1]).lines[1] == ("Hinweis: Von dieser Rufnummer haben wir schon eine Stimme "
                                                      "erhalten. Sie müssen nichts mehr tun und können jetzt auflegen.")
    assert [r[1] for r in voice_records(ws)] == ["counted"]


def test_english_by_9_or_by_the_ballot(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 1, "en": 1})
    server = sms_server(ws)
    chose = Phone(server)
    chose.dial()
    english = chose.press("9", key="")  # a timeout after 9 also sends it
    assert english.lines[:2] == ["Hello. This is voting by phone. Residents' poll: the future of the Main riverbank.",
                                 "Für Deutsch drücken Sie die 9."]
    assert english.voices[:3] == [EN, DE, EN]
    first = chose.code(ws.codes["de"][0])  # a German ballot: the caller chose English, so English it stays
    assert first.lines[0] == "Thank you, the code is valid."
    assert set(first.voices) == {EN}
    assert chose.press("0").lines[:2] == ["Press the number of an answer, then the hash key.",
                                          "When you are done, just press the hash key."]

    ballot = Phone(server)
    ballot.dial()
    assert ballot.code(ws.codes["en"][0]).lines[1].startswith("Question 1 of 3: What should the riverbank")
    ballot.press("4"), ballot.press("", key="#")
    check = ballot.press("", key="#")
    assert check.lines == ["No answer to this question.", "Please check your choices.",
                           "Question 1: Number 4, Leave it as it is today.", "Question 2: no answer.",
                           "Question 3: no answer.", "If this is right, press 1. To change something, press 2."]
    assert ballot.press("1", key="").lines == ["Thank you. We have received your vote.", "Goodbye."]
    assert ws.query("SELECT language FROM voice_calls ORDER BY started_at") == [("en",), ("en",)]
    for said in chose.heard + ballot.heard:
        assert not re.search(r"(?i)counted|gezählt", said.text)


def test_forged_and_misdirected_calls_are_refused_and_store_nothing(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 1})
    server = sms_server(ws, real=True)  # signatures over the public URL, at a real listening server
    phone = Phone(server)
    params = phone.params()
    refused = [
        server.post(params, path="/twilio/voice", signature=None),
        server.post(params, path="/twilio/voice", url=server.url + "/twilio/voice"),  # signed for the inside address
        server.post(dict(params, AccountSid="AC" + "1" * 32), path="/twilio/voice"),
        server.post(dict(params, To=SMS_NUMBER), path="/twilio/voice"),  # the SMS number is not the voice number
        server.post(dict(params, Digits="1"), path="/twilio/voice/gather?step=2",
                    url=SMS_PUBLIC_URL + "/twilio/voice/gather?step=3"),  # signed for another step
        server.post(dict(params, CallStatus="completed"), path="/twilio/voice/status", signature="Zm9yZ2Vk"),
    ]
    assert [r.status for r in refused] == [403] * 6
    assert ws.query("SELECT COUNT(*) FROM voice_calls") == [(0,)]
    assert healthz(server)["refused_requests"] == {"bad_signature": 4, "wrong_account": 1, "wrong_number": 1}
    assert server.post(dict(params, CallSid="x"), path="/twilio/voice").status == 400
    assert server.post(dict(params, To="0931 4650 0190"), path="/twilio/voice").status == 200  # national form


def test_closed_and_not_yet_open(sms_workspace, sms_server):
    closed = sms_workspace(opens="2020-03-01T00:00:00+01:00", closes="2021-01-01T00:00:00+01:00")
    server = sms_server(closed)
    bye = Phone(server).dial()
    assert bye.lines == ["Die Abstimmung ist vorbei. Der letzte Tag war der 31. Dezember 2020.", "Auf Wiederhören."]
    assert bye.hangs_up
    server.stop()
    later = sms_workspace(opens="2098-03-01T09:30:00+01:00", closes="2099-01-01T00:00:00+01:00")
    server = sms_server(later)
    assert Phone(server).dial().lines[0] == ("Die Abstimmung beginnt am 1. März 2098. Bitte rufen Sie ab dann noch "
                                             "einmal an.")
    assert later.query("SELECT outcome FROM voice_calls") == [("not_open",)]


def test_wrong_codes_by_phone_and_sms_lock_a_phone_out_and_raise_the_alarm(sms_workspace, sms_server):
    ws = sms_workspace(codes={"de": 2})
    server = sms_server(ws)
    code = ws.codes["de"][0]
    guesser = "+4915100000666"
    phone = Phone(server, caller=guesser)
    phone.dial()
    phone.press(typo(code))
    phone.press(never_issued(ws))
    phone.hang_up()
    for n in range(2):
        server.send(f"{never_issued(ws)} {n}", sender=guesser)
    last_try = Phone(server, caller=guesser)
    last_try.dial()
    locked = last_try.press(never_issued(ws))  # the fifth wrong code within the hour
    assert locked.lines[-3:] == [("Von diesem Telefon kamen zu viele falsche Codes. Bitte versuchen Sie es später "
                                  "noch einmal."), "Sie können auch per Post abstimmen.", "Auf Wiederhören."]
    assert locked.hangs_up
    assert Phone(server, caller=guesser).dial().lines[0].startswith("Von diesem Telefon kamen zu viele falsche Codes")
    assert server.send(f"{code} 1", sender=guesser).text.startswith("Von diesem Telefon kamen zu viele falsche Codes")
    assert calls(ws)[last_try.sid][:2] == ("locked_out", 1)

    for _ in range(16):  # many hidden callers, three wrong codes each: the process-wide alarm
        caller = Phone(server, caller="+266696687")
        caller.dial()
        for _ in range(3):
            caller.press(never_issued(ws))
    health = healthz(server)
    assert health["wrong_codes_last_hour"] == 5 + 48 and health["wrong_code_alarm"] is True
    assert ws.query("SELECT kind FROM audit WHERE kind = 'sms_alarm'") == [("sms_alarm",)]
    assert "ALARM: 51 wrong codes in the last hour" in server.log()


def test_any_server_process_answers_any_step_and_a_code_counts_once(sms_workspace, sms_server):
    from concurrent.futures import ThreadPoolExecutor

    ws = sms_workspace(codes={"de": 1})
    servers = [sms_server(ws, real=True), sms_server(ws, real=True)]  # two server processes
    code = ws.codes["de"][0]
    phones = [Phone(servers[0]), Phone(servers[1], caller="+4915187654321")]
    for n, (phone, answer) in enumerate(zip(phones, ("1", "4"), strict=True)):  # each step goes to the other server
        phone.dial()
        for step, digits in enumerate([code, answer, "", ""]):
            phone.server = servers[(step + n + 1) % 2]
            phone.press(digits)
    assert all(phone.heard[-1].gather["numDigits"] == "1" for phone in phones)  # both at the read-back

    with ThreadPoolExecutor(max_workers=2) as pool:  # both confirm at the same moment
        finals = list(pool.map(lambda phone: phone.press("1", key=""), phones))
    texts = sorted(final.lines[0] for final in finals)
    assert texts[0] in ("Für diesen Code haben wir schon eine andere Stimme erhalten. Diese Stimme wurde nicht "
                        "übernommen.", "Vielen Dank. Wir haben Ihre Stimme erhalten.")
    assert texts.count("Vielen Dank. Wir haben Ihre Stimme erhalten.") == 1
    assert sorted(r[1] for r in voice_records(ws)) == ["counted", "superseded"]
    assert ws.query("SELECT COUNT(*) FROM claims") == [(1,)]


def test_a_call_reaches_the_tally_of_merge(sms_workspace, sms_server, run_cli):
    import csv

    ws = sms_workspace(codes={"de": 2})
    server = sms_server(ws)
    phone = Phone(server)
    vote_poll(phone, ws.codes["de"][0], "2", "6", "#", "11")
    phone.press("1", key="")
    server.send(f"{ws.codes['de'][1]} 2 11")
    result = run_cli("-C", ws.root, "merge")
    assert result.code == 0, result.output
    with (ws.root / "out" / "tally.csv").open(encoding="utf-8") as f:
        tally = {(row["question"], row["option"]): (row["sms"], row["voice"], row["total"]) for row in csv.DictReader(f)}
    assert tally[("q1", "b")] == ("1", "1", "2") and tally[("q2", "b")] == ("0", "1", "1")
    assert tally[("q3", "no")] == ("1", "1", "2") and tally[("q1", "a")] == ("0", "0", "0")
    with (ws.root / "out" / "ballots.csv").open(encoding="utf-8") as f:
        assert [row["source"] for row in csv.DictReader(f) if row["channel"] == "voice"] == [f"voice:{phone.sid}"]
