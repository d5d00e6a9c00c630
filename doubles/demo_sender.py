"""`make demo`: text votes to a webhook on loopback, as Twilio would deliver them.

    python -m doubles.demo_sender WORKSPACE [--unused]

Reads the codes of a few printed ballots back from the workspace's PDFs (their QR, with
pypdfium2 and zxing-cpp: the PDFs are the only copy of the codes), starts
`hybrid sms serve` on a free loopback port with demo Twilio settings, sends a realistic
set of messages signed exactly as Twilio signs them (votes, a typo, HELP, STATUS, the
same vote twice, a changed vote, a voided ballot, STOP, an English ballot), shows each
reply, and stops the server. With --unused, only ballots whose code no record of the
store has used yet (not returned on paper, say). A demo aid, not part of the webhook.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hybrid.codes import format_code
from hybrid.qr_payload import InvalidPayload, decode
from hybrid.workspace import Workspace
from sms.twilio_config import sms_number
from doubles.twilio_double import inbound_params, new_message_sid, sign

ACCOUNT = "AC" + "de" * 16  # demo settings: no real Twilio account is involved
TOKEN = "demo-auth-token-not-a-secret-000"
PUBLIC_URL = "https://abstimmung.example.de"
REPO = Path(__file__).resolve().parent.parent


def printed_ballots(workspace: Path, wanted: int = 8, unused: bool = False) -> dict[int, tuple[str, str]]:
    """serial → (code, language) for the first `wanted` ballots of each print file
    (with `unused`: of those whose code has no record in the store yet)."""
    import pypdfium2
    import zxingcpp

    used: set[int] = set()
    if unused:
        store = Workspace(workspace).open_store()
        try:
            used = {s for (s,) in store.conn.execute("SELECT serial FROM records WHERE serial IS NOT NULL")}
        finally:
            store.close()
    found: dict[int, tuple[str, str]] = {}
    for pdf_path in sorted((workspace / "out").glob("*.pdf")):
        language = "en" if "-en" in pdf_path.name else "de"
        pdf = pypdfium2.PdfDocument(str(pdf_path))
        try:
            taken = 0
            for index in range(len(pdf)):
                if taken >= wanted:
                    break
                image = pdf[index].render(scale=150 / 72, grayscale=True).to_pil()
                for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
                    try:
                        payload = decode(barcode.text)
                    except InvalidPayload:
                        continue
                    if payload.code and payload.serial not in found and payload.serial not in used:
                        found[payload.serial] = (payload.code, language)
                        taken += 1
        finally:
            pdf.close()
    return found


def start_server(workspace: Path, env: dict) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-u", str(REPO / "cli.py"), "-C", str(workspace), "sms", "serve", "--port", "0"]
    log = open(workspace / "sms-serve.log", "ab")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, env=env, cwd=str(REPO))
    line = proc.stdout.readline().decode()
    match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the SMS server did not start; see {workspace / 'sms-serve.log'}")
    print(line.strip())
    url = f"http://127.0.0.1:{match.group(1)}"
    for _ in range(200):
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the SMS server did not answer /healthz")


def conversation(ballots: dict[int, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(who, phone, message) for a realistic morning of text votes."""
    german = [serial for serial, (_, lang) in sorted(ballots.items()) if lang == "de"]
    english = [serial for serial, (_, lang) in sorted(ballots.items()) if lang == "en"]
    code = {serial: c for serial, (c, _) in ballots.items()}
    first, second, sixth = german[0], german[1], german[5]
    typo = code[german[4]][:6] + str((int(code[german[4]][6]) + 1) % 10) + code[german[4]][7:]
    messages = [
        ("Frau A.", "+49 151 2345 6701", f"{format_code(code[first])} 1 5 10"),
        ("Herr B.", "+49 160 9876 5432", f"Hallo, mein Code ist {code[second]}. Ich wähle 2 und 7, und Nein."),
        ("Frau C.", "+49 171 5550 1234", f"{format_code(typo)} 3 6"),
        ("Frau C.", "+49 171 5550 1234", "HILFE"),
        ("Frau A.", "+49 151 2345 6701", f"STATUS {format_code(code[first])}"),
        ("Frau A.", "+49 151 2345 6701", f"{code[first]} 1 5 10"),
        ("Herr B.", "+49 160 9876 5432", f"{code[second]} 3 7 JA"),
        ("Herr D.", "+49 152 0101 0202", f"{format_code(code[sixth])} 1 2"),
        ("Herr D.", "+49 152 0101 0202", f"{format_code(code[sixth])} 2"),
        ("Herr E.", "+49 176 4444 5555", "STOP"),
    ]
    if 3 in code:  # serial 3 was voided by the demo
        messages.append(("Frau F.", "+49 157 3333 2222", f"{format_code(code[3])} 4 8"))
    if english:
        messages.append(("Mr G.", "+49 151 7777 8888", f"{format_code(code[english[0]])} 3 6 yes"))
    return messages


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    unused = "--unused" in args
    args = [a for a in args if a != "--unused"]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    workspace = Path(args[0]).resolve()
    ballots = printed_ballots(workspace, unused=unused)
    print(f"Read {len(ballots)} codes back from the QR codes of {workspace}/out/*.pdf")
    number = sms_number(Workspace(workspace).process)
    env = dict(os.environ, TWILIO_ACCOUNT_SID=ACCOUNT, TWILIO_AUTH_TOKEN=TOKEN, HYBRID_PUBLIC_URL=PUBLIC_URL,
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc, url = start_server(workspace, env)
    try:
        with httpx.Client(base_url=url, timeout=20) as client:
            for who, phone, text in conversation(ballots):
                params = inbound_params(new_message_sid(), ACCOUNT, phone.replace(" ", ""), number, text)
                response = client.post("/twilio/sms", data=params,
                                       headers={"X-Twilio-Signature": sign(TOKEN, PUBLIC_URL + "/twilio/sms", params)})
                reply = re.search(r"<Message>(.*)</Message>", response.text, re.S)
                shown = reply.group(1).replace("&quot;", '"').replace("&amp;", "&") if reply else "(no reply: Twilio answers STOP itself)"
                print(f"\n  {who:8} → {text}\n  {'hybrid':8} ← {shown}")
            forged = inbound_params(new_message_sid(), ACCOUNT, "+491510000000", number, "1 5 10")
            status = client.post("/twilio/sms", data=forged, headers={"X-Twilio-Signature": "forged"}).status_code
            print(f"\n  A forged request (wrong signature) → HTTP {status}, nothing stored")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    print("Server stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
