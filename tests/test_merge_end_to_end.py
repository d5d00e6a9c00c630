"""The whole job: print → simulate returns → scan → SMS through the live server → merge.

The merged tally must equal the simulation's truth (what the reader had to count) plus
exactly the SMS votes sent; ballots the machine was unsure of wait for a person.
"""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta

from forms.print_run import PrintRequest, run_print
from hybrid.codes import new_code
from conftest import SmsWorkspace, sms_environment


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_paper_and_sms_merge_into_the_truth_plus_the_messages(review_workspace, sms_server, run_cli, tmp_path):
    ws = review_workspace
    truth = ws.truth
    process = ws.process
    # More ballots for people who vote by SMS instead of returning the paper.
    drawn: list[str] = []

    def recording_codes() -> str:
        drawn.append(new_code())
        return drawn[-1]

    store = ws.open_store()
    try:
        run_print(store, process, PrintRequest(count=3, lang="de"), ws.root / "out", workers=1,
                  code_source=recording_codes)
        codes = [c for c in drawn if store.code_hash_exists(store.code_hash(c))]
    finally:
        store.close()
    assert len(codes) == 3
    # The live server times messages on arrival: open voting from yesterday on.
    definition = ws.root / "process.yaml"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    definition.write_text(re.sub(r"(?m)^opens: .*$", f"opens: {yesterday}T00:00:00+00:00",
                                 definition.read_text(encoding="utf-8")), encoding="utf-8")
    server = sms_server(SmsWorkspace(ws.root, {}), env=sms_environment(XDG_CONFIG_HOME=str(ws.config)))
    sent = {codes[0]: "1 5 6 10", codes[1]: "4 11", codes[2]: "2 9"}
    for code, numbers in sent.items():
        reply = server.send(f"{code[:4]} {code[4:8]} {code[8:]} {numbers}")
        assert reply.status == 200 and "erhalten" in (reply.text or ""), reply.raw
    server.send("Wann ist die Abstimmung zu Ende?")  # chatter: stored, never counted
    server.stop()

    out = tmp_path / "merged"
    result = run_cli("-C", ws.root, "merge", "-o", out)
    assert result.code in (0, 1), result.output

    by_number = {it.number: (it.question, it.option) for it in process.items()}
    from_sms: dict[tuple[str, str], int] = {}
    for numbers in sent.values():
        for n in numbers.split():
            from_sms[by_number[int(n)]] = from_sms.get(by_number[int(n)], 0) + 1
    for row in read_csv(out / "tally.csv"):
        key = (row["question"], row["option"])
        assert int(row["paper"]) == truth["expected_tally"][row["question"]][row["option"]], key
        assert int(row["sms"]) == from_sms.get(key, 0), key
        assert int(row["total"]) == int(row["paper"]) + int(row["sms"]) + int(row["voice"])

    ballots = read_csv(out / "ballots.csv")
    paper = [b for b in ballots if b["channel"] == "paper"]
    assert sum(b["status"] == "counted" for b in paper) == truth["expected_records"].get("counted", 0)
    waiting = sum(b["status"] == "review" for b in paper)
    assert waiting >= truth["expected_records"].get("review", 0) - sum(
        1 for b in truth["ballots"] if b["expected"]["reasons"] == ["no_code"])
    assert (result.code == 1) == bool(waiting or "Unreadable" in result.output)
    sms_rows = [b for b in ballots if b["channel"] == "sms"]
    assert sorted(b["status"] for b in sms_rows) == ["counted"] * 3 + ["not_a_vote"]
