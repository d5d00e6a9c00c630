"""`make demo`: text votes to the city's own phone (android-sms-gateway) instead of Twilio.

    python samples/gateway_demo.py WORKSPACE

Switches the workspace's `channels.sms.provider` to android-gateway for the length of
the demo (and back afterwards), starts the stand-in phone from doubles/gateway_double.py
(its REST API on loopback, as the gateway documents it) and `hybrid sms serve` with
demo gateway settings, lets a few citizens text the phone (a vote, the app's retry of
the same webhook, a photo, STOPP, HILFE, a vote sent while the server was down and
recovered by `hybrid sms pull`), and shows each reply as the phone sent it. A demo aid.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from doubles.demo_sender import printed_ballots, start_server  # noqa: E402
from doubles.gateway_double import FakeGateway  # noqa: E402
from hybrid.codes import format_code  # noqa: E402

SIGNING_KEY = "demo-signing-key-not-a-secret"
DEMO_TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "de" * 16, "TWILIO_AUTH_TOKEN": "demo-auth-token-not-a-secret-000",
               "HYBRID_PUBLIC_URL": "https://abstimmung.example.de"}  # the voice channel stays Twilio's


def wait_for_reply(phone: FakeGateway, number: str, count: int, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = phone.texts_to(number)
        if len(texts) >= count:
            return texts[count - 1]
        time.sleep(0.05)
    return "(no reply)"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    workspace = Path(args[0]).resolve()
    definition = workspace / "process.yaml"
    original = definition.read_text(encoding="utf-8")
    switched, found = re.subn(r"(?m)^(\s+provider:) twilio$", r"\1 android-gateway", original)
    if found != 1:
        switched, found = re.subn(r'(?m)^(  sms:\n    number: .*)$', r"\1\n    provider: android-gateway", original)
    if found != 1:
        raise SystemExit(f"{definition}: no channels.sms to switch to the gateway")
    ballots = [code for _, (code, _) in sorted(printed_ballots(workspace, wanted=12, unused=True).items())]
    definition.write_text(switched, encoding="utf-8")
    try:
        with FakeGateway(SIGNING_KEY) as phone:
            env = dict(os.environ, **DEMO_TWILIO, HYBRID_GATEWAY_URL=phone.url, HYBRID_GATEWAY_USERNAME=phone.username,
                       HYBRID_GATEWAY_PASSWORD=phone.password, HYBRID_GATEWAY_SIGNING_KEY=SIGNING_KEY,
                       PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            proc, url = start_server(workspace, env)
            phone.webhook_url = url + "/gateway/sms"
            try:
                run_conversation(phone, ballots, workspace, env)
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=20)
    finally:
        definition.write_text(original, encoding="utf-8")
    print("Server stopped; the workspace takes SMS through Twilio again.")
    return 0


def run_conversation(phone: FakeGateway, ballots: list[str], workspace: Path, env: dict) -> None:
    if len(ballots) < 3:
        print("  (fewer than three unused ballots left: nothing to show)")
        return
    first, second, third = ballots[:3]
    talk = [
        ("Frau H.", "+4915123450001", f"{format_code(first)} 2 6 ja", "sms:received"),
        ("Frau H.", "+4915123450001", None, "retry"),  # the app sends the same webhook again
        ("Herr I.", "+4916012340002", "", "mms:received"),  # a photo of the ballot
        ("Herr I.", "+4916012340002", f"{second} 4 9", "sms:received"),
        ("Herr J.", "+4917612340003", "Stopp", "sms:received"),
        ("Herr J.", "+4917612340003", "HILFE", "sms:received"),
    ]
    counts: dict[str, int] = {}
    last_body = b""
    for who, number, text, kind in talk:
        if kind == "retry":
            status, answer = phone.redeliver(last_body)
            print(f"\n  (the app retries that webhook) → HTTP {status} {answer}: stored once, answered once")
            continue
        status, answer, last_body = phone.receive(text, sender=number, event=kind)
        shown = "(a photo)" if kind == "mms:received" else text
        if text in ("Stopp",):
            time.sleep(0.5)
            print(f"\n  {who:8} → {shown}\n  {'hybrid':8} ← (no reply: an opt-out)")
            continue
        counts[number] = counts.get(number, 0) + 1
        print(f"\n  {who:8} → {shown}\n  {'hybrid':8} ← {wait_for_reply(phone, number, counts[number])}")
    # A message that reached the phone while the server was down: `sms pull` asks for the inbox.
    phone.receive(f"{third} 3", sender="+4915212340004", deliver=False)
    subprocess.run([sys.executable, str(REPO / "cli.py"), "-C", str(workspace), "sms", "pull", "--since",
                    time.strftime("%Y-%m-%d")], env=env, check=True)
    print(f"\n  Frau K.  → {third} 3   (while the server was down)\n"
          f"  hybrid   ← {wait_for_reply(phone, '+4915212340004', 1)}")
    print(f"\n  The phone sent {len(phone.sent)} replies through its API; no phone number is stored.")


if __name__ == "__main__":
    sys.exit(main())
