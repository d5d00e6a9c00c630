"""Nothing is lost: `hybrid sms pull` (the real twilio client against a local server that
answers in Twilio's JSON page format), `hybrid sms import` (the console's CSV export),
and a server killed with SIGKILL in the middle of a burst (DESIGN §7)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from conftest import REPO, SMS_ACCOUNT, SMS_NUMBER, SMS_TOKEN, SmsServer

from doubles.twilio_double import FakeTwilioApi, new_message_sid
from hybrid import audit
from hybrid.codes import format_code
from hybrid.errors import ExitCode
from sms.service import InboundSms, SmsService

pytestmark = pytest.mark.usefixtures("store_engine")
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def twilio_api():
    with FakeTwilioApi(SMS_ACCOUNT, SMS_TOKEN) as api:
        yield api


@pytest.fixture
def twilio_env(monkeypatch, twilio_api):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SMS_ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", SMS_TOKEN)
    monkeypatch.setenv("HYBRID_TWILIO_API_URL", twilio_api.url)
    monkeypatch.delenv("HYBRID_PUBLIC_URL", raising=False)


def test_pull_stores_what_the_webhook_missed_and_adds_twilios_times(sms_workspace, twilio_api, twilio_env, run_cli,
                                                                     monkeypatch):
    monkeypatch.setattr("sms.backfill.PAGE_SIZE", 3)  # several pages, followed through next_page_uri
    ws = sms_workspace(codes={"de": 4})
    a, b, c, d = ws.codes["de"]
    seen_by_webhook = [(new_message_sid(), f"{a} 1 5 10"), (new_message_sid(), "HILFE")]
    missed = [(new_message_sid(), f"{b} 2"), (new_message_sid(), f"{c} 3"), (new_message_sid(), f"{a} 4"),
              (new_message_sid(), "STOP"), (new_message_sid(), f"{format_code(d)} 1 2")]
    store = ws.open_store()
    service = SmsService(store, ws.process)
    for sid, body in seen_by_webhook:
        service.receive(InboundSms(sid, SMS_ACCOUNT, body, "+4915112345678"))
    store.close()
    for n, (sid, body) in enumerate(seen_by_webhook + missed):
        twilio_api.add(sid, f"+4915100000{n:03d}", SMS_NUMBER, body, NOW - timedelta(minutes=30 - n))
    twilio_api.add(new_message_sid(), SMS_NUMBER, "+4915100000001", "Danke!", NOW, direction="outbound-reply")
    twilio_api.add(new_message_sid(), "+4915100000001", "+4915799999999", f"{d} 1", NOW)  # our other number
    twilio_api.add(new_message_sid(), "+4915100000001", SMS_NUMBER, f"{d} 3", NOW - timedelta(days=30))  # too old

    result = run_cli("-C", ws.root, "sms", "pull", "--since", (NOW - timedelta(days=2)).date().isoformat())
    assert result.code == ExitCode.OK, result.output
    lines = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.out.splitlines()
             if line.count("│") == 3}
    assert lines == {"messages listed": "7", "stored now (no reply sent)": "5", "already stored, Twilio's time added": "2",
                     "already stored": "0"}  # Twilio itself left out the reply, the other number and the old one
    rows = ws.query("SELECT via, twilio_time, replied, outcome FROM sms_messages ORDER BY sent_at")
    assert rows == [("webhook", 1, 1, "received"), ("webhook", 1, 1, "help"), ("pull", 1, 0, "received"),
                    ("pull", 1, 0, "received"), ("pull", 1, 0, "already_voted"), ("pull", 1, 0, "no_reply"),
                    ("pull", 1, 0, "invalid")]
    assert sum("Page=" in path for path in twilio_api.requests) >= 2
    assert all("To=%2B4915792418830" in path for path in twilio_api.requests)

    again = run_cli("-C", ws.root, "sms", "pull")  # by default from a week before the vote opens: the old one too
    assert again.code == 0
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(8,)]
    assert ws.query("SELECT COUNT(*) FROM records WHERE channel = 'sms'") == [(8,)]


def test_pull_refuses_wrong_credentials_and_says_when_twilio_is_unreachable(sms_workspace, twilio_api, twilio_env,
                                                                            run_cli, monkeypatch):
    ws = sms_workspace()
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "f" * 32)
    wrong = run_cli("-C", ws.root, "sms", "pull")
    assert wrong.code == ExitCode.INVALID_INPUT and "Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN" in wrong.err
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("HYBRID_TWILIO_API_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", SMS_TOKEN)
    away = run_cli("-C", ws.root, "sms", "pull")
    assert away.code == ExitCode.TOOL_MISSING and "could not be reached" in away.err
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    unset = run_cli("-C", ws.root, "sms", "pull", "--since", "2026-13-01")
    assert unset.code == ExitCode.INVALID_INPUT and "TWILIO_AUTH_TOKEN is not set" in unset.err
    bad_date = run_cli("-C", ws.root, "sms", "pull", "--since", "yesterday")
    assert bad_date.code == ExitCode.INVALID_INPUT


CSV_HEADER = "From,To,Body,Status,SentDate,ApiVersion,NumSegments,ErrorCode,AccountSid,Sid,Direction,Price,PriceUnit\n"


def test_import_reads_the_consoles_csv_export(sms_workspace, run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SMS_ACCOUNT)
    ws = sms_workspace(codes={"de": 3})
    a, b, c = ws.codes["de"]
    sids = [new_message_sid() for _ in range(6)]
    rows = [
        f'+4915100000001,{SMS_NUMBER},"{a} 1 5 10",received,2026-03-02T09:15:03+01:00,2010-04-01,1,,{SMS_ACCOUNT},'
        f'{sids[0]},inbound,-0.0075,USD',
        f'+4915100000002,{SMS_NUMBER},"Hallo,\nmein Code: {format_code(b)}\nNr. 2",received,'
        f'"Mon, 02 Mar 2026 08:20:00 +0000",2010-04-01,1,,{SMS_ACCOUNT},{sids[1]},inbound,-0.0075,USD',
        f'{SMS_NUMBER},+4915100000002,"Danke! Wir haben Ihre Stimme erhalten: 2.",delivered,2026-03-02 08:20:01,'
        f'2010-04-01,1,,{SMS_ACCOUNT},{sids[2]},outbound-reply,-0.08,USD',
        f'+4915100000003,{SMS_NUMBER},HILFE,received,2026-03-02 10:00:00,2010-04-01,1,,{SMS_ACCOUNT},{sids[3]},'
        'inbound,-0.0075,USD',
        f'+4915100000004,+4915799999999,"{c} 1",received,2026-03-02 10:00:00,2010-04-01,1,,{SMS_ACCOUNT},{sids[4]},'
        'inbound,-0.0075,USD',
        f'+4915100000005,{SMS_NUMBER},"{c} 3",received,2026-03-02 10:01:00,2010-04-01,1,,AC{"0" * 32},{sids[5]},'
        'inbound,-0.0075,USD',
    ]
    export = tmp_path / "Messages.csv"
    export.write_text("\ufeff" + CSV_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    result = run_cli("-C", ws.root, "sms", "import", export)
    assert result.code == 0, result.output
    stored = ws.query("SELECT via, sent_at, outcome FROM sms_messages ORDER BY sent_at")
    assert stored == [("import", "2026-03-02T08:15:03.000000+00:00", "received"),
                      ("import", "2026-03-02T08:20:00.000000+00:00", "received"),
                      ("import", "2026-03-02T10:00:00.000000+00:00", "help")]
    for why in ("not inbound", "to another number", "another account"):
        assert why in result.out
    assert run_cli("-C", ws.root, "sms", "import", export).code == 0  # again: nothing new
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(3,)]

    broken = tmp_path / "broken.csv"
    broken.write_text(CSV_HEADER + rows[3].replace(sids[3], new_message_sid()) + "\n"
                      + rows[0].replace("2026-03-02T09:15:03+01:00", "last tuesday") + "\n", encoding="utf-8")
    refused = run_cli("-C", ws.root, "sms", "import", broken)
    assert refused.code == ExitCode.INVALID_INPUT
    assert f"{broken}:3: SentDate 'last tuesday' is not a date and time" in refused.err
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(3,)]  # nothing of that file
    headerless = tmp_path / "other.csv"
    headerless.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    assert "no Sid, From, Body, SentDate column" in run_cli("-C", ws.root, "sms", "import", headerless).err


def test_serve_refuses_to_start_without_what_it_needs(sms_workspace, run_cli, monkeypatch, tmp_path):
    ws = sms_workspace()
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "HYBRID_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli("-C", ws.root, "sms", "serve")
    assert result.code == ExitCode.INVALID_INPUT
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "HYBRID_PUBLIC_URL"):
        assert f"{name} is not set" in result.err
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "my-account")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", SMS_TOKEN)
    monkeypatch.setenv("HYBRID_PUBLIC_URL", "vote.example.org")
    result = run_cli("-C", ws.root, "sms", "serve")
    assert result.code == ExitCode.INVALID_INPUT
    assert "does not look like an Account SID" in result.err and "is not an http(s) URL" in result.err
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SMS_ACCOUNT)
    monkeypatch.setenv("HYBRID_PUBLIC_URL", "https://vote.example.org")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_cli("-C", ws.root, "sms", "serve", "--port", taken.getsockname()[1])
    assert busy.code == ExitCode.INVALID_INPUT and "cannot listen on 127.0.0.1:" in busy.err
    no_sms = tmp_path / "no-sms"
    no_sms.mkdir()
    (no_sms / "process.yaml").write_text((ws.root / "process.yaml").read_text().replace("  sms:\n", "  fax:\n"))
    assert run_cli("-C", no_sms, "sms", "serve").code == ExitCode.INVALID_INPUT
    (no_sms / "process.yaml").write_text((ws.root / "process.yaml").read_text())
    if "HYBRID_DATABASE_URL" not in __import__("os").environ:
        assert run_cli("-C", no_sms, "sms", "serve").code == ExitCode.STORE_OR_KEY  # no store: print first
    overview = run_cli("-C", ws.root, "sms")
    assert overview.code == 0 and "Wrong codes in the last hour: 0" in overview.out


def test_a_server_killed_mid_burst_loses_nothing_after_pull(sms_workspace, sms_server, twilio_api, tmp_path):
    ws = sms_workspace(codes={"de": 40})
    burst = []
    for n in range(240):
        code = ws.codes["de"][n % 40]
        body = [f"{code} {1 + n % 4}", f"{format_code(code)} 1 5 10", "HILFE", f"STATUS {code}"][n % 4]
        burst.append((new_message_sid(), f"+49152{n:08d}", body))
    for n, (sid, sender, body) in enumerate(burst):
        twilio_api.add(sid, sender, SMS_NUMBER, body, NOW - timedelta(seconds=240 - n))
    server = sms_server(ws, real=True)  # killed with SIGKILL below
    answered: dict[str, str | None] = {}
    done = threading.Event()

    def send(item):
        sid, sender, body = item
        if done.is_set():
            return
        try:
            reply = server.send(body, sender=sender, sid=sid)
        except httpx.TransportError:
            return
        if reply.status == 200:
            answered[sid] = reply.text
            if len(answered) >= 80:
                done.set()

    killer = threading.Thread(target=lambda: (done.wait(60), server.kill()))
    killer.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, burst))
    killer.join()
    assert 80 <= len(answered) < len(burst)
    stored_before = ws.query("SELECT COUNT(*) FROM sms_messages")[0][0]
    assert stored_before >= len(answered)

    restarted = SmsServer(ws, tmp_path / "restarted.log")  # the same store comes back
    assert restarted.send("HILFE").status == 200
    restarted.stop()
    env = ws.environment(HYBRID_TWILIO_API_URL=twilio_api.url)
    pull = subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(ws.root), "sms", "pull"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert pull.returncode == 0, pull.stderr
    sids = {sid for sid, _, _ in burst}
    stored = dict(ws.query("SELECT message_sid, reply FROM sms_messages"))
    assert sids <= set(stored) and len(stored) == len(burst) + 1  # + the HELP after the restart
    assert ws.query("SELECT COUNT(*) FROM records WHERE channel = 'sms'") == [(len(burst) + 1,)]
    assert all(stored[sid] == text for sid, text in answered.items())  # what was answered is what is stored
    counted = ws.query("SELECT serial, COUNT(*) FROM records WHERE status = 'counted' GROUP BY serial")
    assert sorted(serial for serial, _ in counted) == [i + 1 for i in range(40) if i % 4 < 2]  # codes that voted
    assert all(n == 1 for _, n in counted)
    store = ws.open_store()
    try:
        assert audit.verify(store).ok
    finally:
        store.close()
