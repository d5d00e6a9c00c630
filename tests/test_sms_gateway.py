"""A citizen texts a vote to the city's own phone (issue 15): android-sms-gateway's webhook
into a real `hybrid sms serve` on loopback, replies through the gateway's REST API,
here a stand-in phone (doubles/gateway_double.py) that follows the documented API.
The stories that touch the store run on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from conftest import REPO, SmsServer
from doubles.gateway_double import DEVICE_ID, FakeGateway, event_body, signed_headers

from hybrid.codes import format_code

SIGNING_KEY = "vQ7xK2pL9mN4"
THANKS = "Danke! Wir haben Ihre Stimme erhalten: {}."
EXAMPLE = "1234 5678 9012 1 5 10"
VOTER = "+4915112345678"


def gateway_workspace(sms_workspace, **options):
    ws = sms_workspace(**options)
    path = ws.root / "process.yaml"
    text = path.read_text(encoding="utf-8")
    assert '    number: "+49 157 92418830"\n' in text
    text = text.replace('    number: "+49 157 92418830"\n', '    number: "+49 157 92418830"\n    provider: android-gateway\n')
    voice = '  voice:\n    number: "+49 931 4650 0190"\n'
    assert voice in text
    path.write_text(text.replace(voice, ""), encoding="utf-8")  # a voice channel would be Twilio's
    return ws


def gateway_env(ws, phone: FakeGateway, **extra: str) -> dict:
    env = ws.environment(HYBRID_GATEWAY_URL=phone.url, HYBRID_GATEWAY_USERNAME=phone.username,
                         HYBRID_GATEWAY_PASSWORD=phone.password, HYBRID_GATEWAY_SIGNING_KEY=SIGNING_KEY,
                         HYBRID_GATEWAY_RETRY_SCALE="0.05", **extra)
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(name)  # the gateway needs nothing of Twilio's
    return env


@pytest.fixture
def phone():
    with FakeGateway(SIGNING_KEY) as double:
        yield double


def serve(sms_server, ws, phone: FakeGateway, **extra: str) -> SmsServer:
    server = sms_server(ws, env=gateway_env(ws, phone, **extra))
    phone.webhook_url = server.url + "/gateway/sms"
    return server


def wait_for(condition, timeout: float = 20.0, why=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out {why()}"
        time.sleep(0.05)


def replies_to(phone: FakeGateway, number: str, count: int) -> list[str]:
    return wait_for(lambda: (texts := phone.texts_to(number)) and len(texts) >= count and texts)


@pytest.mark.usefixtures("store_engine")
def test_a_vote_by_the_citys_own_phone_is_stored_once_and_answered_through_its_api(sms_workspace, sms_server, phone):
    ws = gateway_workspace(sms_workspace, codes={"de": 3, "en": 1})
    server = serve(sms_server, ws, phone)
    a, b, c = ws.codes["de"]
    bangkok = timezone(timedelta(hours=7))  # the phone's clock zone must not matter
    sent = datetime(2026, 6, 22, 15, 46, 11, 250000, tzinfo=bangkok)

    status, answer, body = phone.receive(f"{format_code(a)} 1 5", sender=VOTER, received_at=sent)
    assert (status, answer) == (200, {"status": "stored"})
    assert replies_to(phone, VOTER, 1) == [THANKS.format("1, 5")]

    # the app's retries of the same event (same id) change nothing and send nothing again
    for _ in range(3):
        assert phone.redeliver(body) == (200, {"status": "already"})
    time.sleep(0.5)
    assert phone.texts_to(VOTER) == [THANKS.format("1, 5")]
    wait_for(lambda: ws.query("SELECT replied FROM sms_messages") == [(1,)])
    [(sent_at, provider_time, via, replied, not_at_twilio)] = ws.query(
        "SELECT sent_at, twilio_time, via, replied, twilio_deleted FROM sms_messages")
    assert sent_at == "2026-06-22T08:46:11.250000+00:00" and provider_time == 1  # receivedAt in UTC
    assert (via, replied, not_at_twilio) == ("webhook", 1, 1)
    assert ws.query("SELECT status FROM records WHERE channel = 'sms'") == [("counted",)]
    assert ws.query("SELECT COUNT(*) FROM gateway_events") == [(1,)]
    [(state, attempts, text, outbox_id)] = ws.query("SELECT state, attempts, text, outbox_id FROM sms_outbox")
    assert (state, attempts, text) == ("sent", 1, THANKS.format("1, 5"))
    assert [m["id"] for m in phone.sent] == [outbox_id]
    assert not ws.query("SELECT 1 FROM sms_messages WHERE body LIKE '%1511%'")  # no number stored

    # the same grammar, rules and replies as Twilio's messages
    stories = [
        (f"{a} 2", "+4915199990001", "Für diesen Code haben wir schon eine andere Stimme erhalten. "
                                     "Diese SMS wurde nicht übernommen."),
        ("Hilfe", "+4915199990002", "Bürgerbefragung: Zukunft des Mainufers. Senden Sie Code und Nummern Ihrer "
                                    f"Wahl, z.B. {EXAMPLE}. Stimme erhalten? STATUS und Code senden."),
        (f"STATUS {b}", "+4915199990003", "Für diesen Code haben wir noch keine Stimme erhalten. Briefe sind einige "
                                          "Tage unterwegs."),
        (f"{ws.codes['en'][0]} 3", "+4915199990004", "Thank you! We have received your vote: 3."),
    ]
    for text, sender, expected in stories:
        assert phone.receive(text, sender=sender)[:2] == (200, {"status": "stored"})
        assert replies_to(phone, sender, 1) == [expected], text
    # an opt-out is stored and never answered; a photo gets told photos cannot be read
    assert phone.receive("Stopp!", sender="+4915199990005")[:2] == (200, {"status": "stored"})
    assert phone.receive("", sender="+4915199990006", event="mms:received")[:2] == (200, {"status": "stored"})
    assert replies_to(phone, "+4915199990006", 1) == [
        f"Fotos können wir nicht lesen. Bitte senden Sie Code und Nummern als Text, z.B.: {EXAMPLE}"]
    time.sleep(0.5)
    assert phone.texts_to("+4915199990005") == []
    assert dict(ws.query("SELECT intent, COUNT(*) FROM sms_messages GROUP BY intent"))["opt_out"] == 1
    wait_for(lambda: ws.query("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state") == [("sent", 6)])
    assert ws.query("SELECT kind FROM audit WHERE kind = 'sms'") == [("sms",)] * 7
    health = json.loads(server.http.get("/healthz").text)
    assert (health["provider"], health["replies_queued"], health["replies_failed"]) == ("android-gateway", 0, 0)


def test_unsigned_stale_or_foreign_requests_are_refused_and_nothing_is_stored(sms_workspace, sms_server, phone):
    ws = gateway_workspace(sms_workspace, codes={"de": 1})
    server = serve(sms_server, ws, phone, HYBRID_GATEWAY_DEVICE_ID=DEVICE_ID)
    vote = f"{ws.codes['de'][0]} 1"
    body = event_body(vote, VOTER, datetime.now(timezone.utc))
    now = int(time.time())

    def post(content: bytes, headers: dict) -> tuple[int, str]:
        response = server.http.post("/gateway/sms", content=content, headers=headers)
        return response.status_code, response.text.strip()

    wrong_key = signed_headers("another-key", body)
    assert post(body, wrong_key) == (403, "wrong X-Signature")
    assert post(body, {"Content-Type": "application/json"}) == (403, "missing X-Signature or X-Timestamp")
    for stale in (now - 301, now + 301):  # a replay, or a phone whose clock is far off
        assert post(body, signed_headers(SIGNING_KEY, body, stale))[0] == 403
    assert post(body, signed_headers(SIGNING_KEY, body, now - 200)) == (200, '{"status":"stored"}')  # within 5 min
    tampered = body.replace(b'"message": "', b'"message": "9')
    assert post(tampered, signed_headers(SIGNING_KEY, body)) == (403, "wrong X-Signature")
    assert post(b"not json", signed_headers(SIGNING_KEY, b"not json")) == (400, "the body is not JSON")
    no_time = json.loads(body)
    del no_time["payload"]["receivedAt"]
    raw = json.dumps(no_time).encode()
    assert post(raw, signed_headers(SIGNING_KEY, raw)) == (400, "field payload.receivedAt: missing")
    naive = json.loads(body)
    naive["payload"]["receivedAt"] = "2026-06-22T15:46:11"
    raw = json.dumps(naive).encode()
    assert post(raw, signed_headers(SIGNING_KEY, raw)) == (
        400, "field payload.receivedAt: '2026-06-22T15:46:11' has no UTC offset")
    other_device = event_body(vote, VOTER, datetime.now(timezone.utc), device_id="another-phone")
    assert post(other_device, signed_headers(SIGNING_KEY, other_device)) == (
        403, "deviceId is not HYBRID_GATEWAY_DEVICE_ID")
    other_sim = event_body(vote, VOTER, datetime.now(timezone.utc), recipient="+4917600000000")
    assert post(other_sim, signed_headers(SIGNING_KEY, other_sim)) == (
        403, "payload.recipient is not this process's SMS number")
    delivered = json.dumps({"deviceId": DEVICE_ID, "event": "sms:delivered", "id": "Ey6ECgOkVVFjz3CL48B8D",
                            "payload": {"messageId": "msg-789"}, "webhookId": "x"}).encode()
    response = server.http.post("/gateway/sms", content=delivered, headers=signed_headers(SIGNING_KEY, delivered))
    assert (response.status_code, response.json()) == (200, {"status": "ignored", "event": "sms:delivered"})

    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(1,)]  # only the one signed within 5 minutes
    refused = json.loads(server.http.get("/healthz").text)["refused_requests"]
    assert refused == {"bad_signature": 5, "bad_request": 3, "wrong_device": 1, "wrong_number": 1}
    assert "Traceback" not in server.log()


def test_failed_sends_are_retried_with_the_same_id_and_recorded(sms_workspace, sms_server, phone):
    ws = gateway_workspace(sms_workspace, codes={"de": 2})
    serve(sms_server, ws, phone)
    a, b = ws.codes["de"]
    phone.fail_sends(2, 503)
    assert phone.receive(f"{a} 1", sender=VOTER)[0] == 200
    assert replies_to(phone, VOTER, 1) == [THANKS.format("1")]
    sends = [p for p in phone.requests if p == "/message"]
    assert len(sends) == 3
    wait_for(lambda: ws.query("SELECT state FROM sms_outbox") == [("sent",)])
    assert ws.query("SELECT attempts, gateway_state FROM sms_outbox") == [(3, "Pending")]

    phone.fail_sends(1, 401)  # wrong credentials: retrying cannot help
    assert phone.receive(f"{b} 2", sender="+4915199990009")[0] == 200
    wait_for(lambda: ws.query("SELECT COUNT(*) FROM sms_outbox WHERE state = 'failed'") == [(1,)])
    [(attempts, error)] = ws.query("SELECT attempts, last_error FROM sms_outbox WHERE state = 'failed'")
    assert attempts == 1 and "HYBRID_GATEWAY_USERNAME" in error
    overview = subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(ws.root), "sms"],
                              capture_output=True, text=True, env=gateway_env(ws, phone), timeout=60)
    shown = " ".join(overview.stdout.split())
    assert "replies sent 1, waiting 0 (0 held by no running server), failed 1" in shown
    assert "the gateway's API cannot delete received SMS" in shown
    status = subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(ws.root), "status"],
                            capture_output=True, text=True, env=gateway_env(ws, phone), timeout=60)
    shown = " ".join(status.stdout.split())
    assert "SMS stored: 2 (deleted at Twilio 0, 2 by the city's gateway, never at Twilio)" in shown
    assert "`hybrid sms pull` asks the phone to send its inbox again" in shown


def test_a_reply_left_unsent_by_a_stopped_server_is_sent_by_the_next_on_the_phones_retry(
        sms_workspace, sms_server, phone):
    ws = gateway_workspace(sms_workspace, codes={"de": 1})
    first = serve(sms_server, ws, phone)
    phone.fail_sends(1000, 503)  # the phone's API is down
    status, _, body = phone.receive(f"{ws.codes['de'][0]} 4", sender=VOTER)
    assert status == 200
    wait_for(lambda: ws.query("SELECT attempts > 1 FROM sms_outbox") == [(1,)])
    first.stop()
    [(state, error)] = ws.query("SELECT state, last_error FROM sms_outbox")
    assert (state, error) == ("queued", "server stopped before sending")
    assert phone.sent == []

    phone.heal()
    serve(sms_server, ws, phone)
    assert phone.redeliver(body) == (200, {"status": "already"})  # the app retries, or an export brings it again
    assert replies_to(phone, VOTER, 1) == [THANKS.format("4")]
    wait_for(lambda: ws.query("SELECT state FROM sms_outbox") == [("sent",)])
    assert ws.query("SELECT COUNT(*) FROM records") == [(1,)]


@pytest.mark.usefixtures("store_engine")
def test_exactly_once_across_retries_and_two_server_processes(sms_workspace, sms_server, phone):
    ws = gateway_workspace(sms_workspace, codes={"de": 30})
    first = serve(sms_server, ws, phone)
    second = sms_server(ws, env=gateway_env(ws, phone))
    urls = [first.url + "/gateway/sms", second.url + "/gateway/sms"]
    bodies = [event_body(f"{code} {1 + n % 4}", f"+49151777{n:05d}", datetime.now(timezone.utc))
              for n, code in enumerate(ws.codes["de"])]
    answers: list[int] = []
    lock = threading.Lock()

    def deliver(body: bytes, url: str) -> None:
        import httpx

        with httpx.Client(timeout=30) as client:
            for _ in range(2):  # each server gets each event twice, at once with the other
                status = client.post(url, content=body, headers=signed_headers(SIGNING_KEY, body)).status_code
                with lock:
                    answers.append(status)

    threads = [threading.Thread(target=deliver, args=(body, url)) for body in bodies for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 4 * len(bodies)
    wait_for(lambda: len(phone.sent) == len(bodies))
    time.sleep(1.0)
    assert len(phone.sent) == len(bodies)  # one reply per message, never two
    assert len([p for p in phone.requests if p == "/message"]) == len(bodies)
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(len(bodies),)]
    assert ws.query("SELECT COUNT(*), COUNT(DISTINCT message_sid) FROM gateway_events") == [(len(bodies),) * 2]
    assert ws.query("SELECT status, COUNT(*) FROM records WHERE channel = 'sms' GROUP BY status") == [
        ("counted", len(bodies))]
    wait_for(lambda: ws.query("SELECT COUNT(*) FROM sms_outbox WHERE state = 'sent'") == [(len(bodies),)])


def test_sms_pull_asks_the_phone_for_its_inbox_and_stores_only_what_was_missed(sms_workspace, sms_server):
    with FakeGateway(SIGNING_KEY, prefix="/3rdparty/v1") as phone:  # a private server's API
        ws = gateway_workspace(sms_workspace, codes={"de": 3})
        server = serve(sms_server, ws, phone)
        a, b, c = ws.codes["de"]
        assert phone.receive(f"{a} 1", sender=VOTER)[0] == 200
        assert phone.receive(f"{b} 2", sender="+4915199990010", deliver=False)[0] is None  # the server was down
        assert phone.receive(f"{c} 3", sender="+4915199990011")[0] == 200
        replies_to(phone, "+4915199990011", 1)
        assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(2,)]

        pull = subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(ws.root), "sms", "pull",
                               "--since", "2020-01-01"], capture_output=True, text=True,
                              env=gateway_env(ws, phone), timeout=60)
        assert pull.returncode == 0, pull.stderr
        assert "Asked the phone" in pull.stdout and "no second reply" in " ".join(pull.stdout.split())
        assert phone.exports[0]["since"] == "2019-12-31T23:00:00Z"
        assert phone.requests.count("/3rdparty/v1/messages/inbox/export") == 1
        wait_for(lambda: ws.query("SELECT COUNT(*) FROM gateway_events") == [(5,)],  # 3 exported, 2 before
                 why=lambda: f"deliveries {phone.deliveries}; exports {phone.exports}; "
                             f"inbox {[m.received_at.isoformat() for m in phone.inbox]}; events {ws.query('SELECT COUNT(*) FROM gateway_events')}; "
                             f"pull said {pull.stdout!r}; server log:\n{server.log()[-3000:]}")
        assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(3,)]
        assert replies_to(phone, "+4915199990010", 1) == [THANKS.format("2")]  # the missed one, answered late
        time.sleep(0.5)
        assert len(phone.sent) == 3  # the others were recognised: no second reply

        refused = subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(ws.root), "sms", "import",
                                  str(ws.root / "process.yaml")], capture_output=True, text=True,
                                 env=gateway_env(ws, phone), timeout=60)
        assert refused.returncode == 2 and "use `hybrid sms pull`" in " ".join(refused.stderr.split())


def test_start_up_names_every_missing_or_unsafe_setting(sms_workspace):
    ws = gateway_workspace(sms_workspace, codes={"de": 1})
    env = ws.environment()

    def serve_with(**settings: str) -> subprocess.CompletedProcess:
        run_env = {k: v for k, v in env.items() if not k.startswith("HYBRID_GATEWAY")}
        run_env.update(settings)
        return subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(ws.root), "sms", "serve", "--port",
                               "0"], capture_output=True, text=True, env=run_env, timeout=60)

    missing = serve_with()
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    for name in ("HYBRID_GATEWAY_URL", "HYBRID_GATEWAY_USERNAME", "HYBRID_GATEWAY_PASSWORD",
                 "HYBRID_GATEWAY_SIGNING_KEY"):
        assert f"{name} is not set" in " ".join(missing.stderr.split())
    plain = serve_with(HYBRID_GATEWAY_URL="http://sms.example.de:8080", HYBRID_GATEWAY_USERNAME="sms",
                       HYBRID_GATEWAY_PASSWORD="p", HYBRID_GATEWAY_SIGNING_KEY="k")
    assert plain.returncode == 2
    assert "plain http only to a loopback or private address" in " ".join(plain.stderr.split())

    bad = (ws.root / "process.yaml").read_text(encoding="utf-8").replace("android-gateway", "android")
    (ws.root / "process.yaml").write_text(bad, encoding="utf-8")
    check = subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(ws.root), "check"], capture_output=True,
                           text=True, env=env, timeout=60)
    assert check.returncode == 2
    said = check.stderr.replace("\n", "")
    line = bad.splitlines().index("    provider: android") + 1
    assert f"process.yaml:{line}:15: channels.sms.provider: should be 'twilio' or 'android-gateway'" in said


def test_the_gateway_path_never_imports_twilio(sms_workspace, phone):
    ws = gateway_workspace(sms_workspace, codes={"de": 1})
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hybrid.workspace import Workspace\n"
        "from sms.provider import providers_for\n"
        "from sms.serving import create_app\n"
        f"root = Path({str(ws.root)!r})\n"
        "providers = providers_for(root, Workspace(root).process)\n"
        "create_app(root, providers)\n"
        "print([p.name for p in providers], sorted(m for m in sys.modules if m.split('.')[0] == 'twilio'))\n"
    )
    env = gateway_env(ws, phone)
    env.pop("HYBRID_PUBLIC_URL")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=str(REPO),
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['android-gateway'] []"


# -- the pure parts ----------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sms.gateway_inbound import EventProblem, message_event, parse_event, sign, signature_problem  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), flip=st.integers(min_value=0, max_value=10_000), skew=st.integers(-300, 300))
def test_a_signature_holds_only_for_its_own_body_and_timestamp(body, flip, skew):
    now = 1_800_000_000
    stamp = str(now + skew)
    signature = sign(SIGNING_KEY, body, stamp)
    assert signature_problem(SIGNING_KEY, body, stamp, signature, now=now) is None
    assert signature_problem(SIGNING_KEY, body, stamp, signature.upper(), now=now) is None  # hex in any case
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1:]
        assert signature_problem(SIGNING_KEY, changed, stamp, signature, now=now) == "wrong X-Signature"
    assert signature_problem(SIGNING_KEY, body, str(now + skew + 1), signature, now=now) is not None
    assert signature_problem("other", body, stamp, signature, now=now) == "wrong X-Signature"
    assert signature_problem(SIGNING_KEY, body, str(now - 301), sign(SIGNING_KEY, body, str(now - 301)),
                             now=now).startswith("X-Timestamp more than 5 minutes")


def test_received_at_becomes_utc_and_the_older_phone_number_field_is_read():
    data = json.loads(event_body("4821 7730 9512 1", "+4915112345678",
                                 datetime(2027, 3, 28, 3, 30, tzinfo=timezone(timedelta(hours=2)))))
    del data["payload"]["sender"]  # apps before 2026 send only phoneNumber
    event = message_event(parse_event(json.dumps(data).encode())[2])
    assert event.received_at == datetime(2027, 3, 28, 1, 30, tzinfo=timezone.utc)
    assert (event.sender, event.text, event.num_media) == ("+4915112345678", "4821 7730 9512 1", 0)
    data["payload"]["message"] = 42
    with pytest.raises(EventProblem, match="payload.message"):
        message_event(data)


def test_a_voice_channel_beside_the_gateway_stays_twilios(sms_workspace, sms_server, phone):
    ws = sms_workspace(codes={"de": 1})
    path = ws.root / "process.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        '    number: "+49 157 92418830"\n', '    number: "+49 157 92418830"\n    provider: android-gateway\n'),
        encoding="utf-8")
    env = gateway_env(ws, phone)
    env.update({k: v for k, v in ws.environment().items() if k.startswith("TWILIO_")})
    server = sms_server(ws, env=env)
    phone.webhook_url = server.url + "/gateway/sms"
    assert server.http.post("/twilio/voice", data={"CallSid": "CA" + "0" * 32}).status_code == 403  # Twilio's, signed
    assert server.http.post("/twilio/sms", data={"Body": "1"}).status_code == 404  # SMS go through the phone only
    assert phone.receive(f"{ws.codes['de'][0]} 1", sender=VOTER)[:2] == (200, {"status": "stored"})
    assert replies_to(phone, VOTER, 1) == [THANKS.format("1")]


def test_an_inbox_export_asks_up_to_the_next_whole_second_so_the_last_message_is_not_left_out():
    from sms.gateway_api import GatewayApi
    from sms.gateway_config import GatewayConfig

    with FakeGateway(SIGNING_KEY) as phone:
        config = GatewayConfig(api_url=phone.url, username=phone.username, password=phone.password,
                               signing_key=SIGNING_KEY, sms_number="+4915792418830")
        phone.receive("4821 7730 9512 1", deliver=False)
        received = phone.inbox[-1].received_at
        asked_at = received.replace(microsecond=max(received.microsecond, 1))  # "now", the same second
        api = GatewayApi(config)
        try:
            api.export_inbox(datetime(2020, 1, 1, tzinfo=timezone.utc), asked_at)
        finally:
            api.close()
        until = datetime.fromisoformat(phone.exports[0]["until"].replace("Z", "+00:00"))
        assert until >= received and until - asked_at < timedelta(seconds=1)
