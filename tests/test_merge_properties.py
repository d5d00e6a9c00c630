"""Properties of merge's outputs, over random sets of merged records (no store needed).

- tally.csv equals the counted choices of votes.csv, per channel;
- the ballot-sheet files, added one investment at a time by CONSUL's rules, give the
  budget counts of tally.csv, with no empty line and at most 500 lines a file;
- results.xlsx holds no cell that can start a formula and cuts long sheets with a note.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from hybrid.results.consul_files import SHEET_LINES, write_budget_files
from hybrid.definition_file import load_process
from hybrid.merge import CHANNELS, MergedRecord, MergeResult, active_channels, booth_counts, tally_of
from hybrid.results.public_files import TALLY_COLUMNS, VOTES_COLUMNS, tally_rows, votes_rows, write_csv, write_plain_csv
from hybrid.results.workbook import safe_cell, write_results_workbook
from hybrid.states import Reason, RecordState
from paper_deck import EXAMPLES

POLL = load_process(EXAMPLES / "poll.yaml")
BUDGET = load_process(EXAMPLES / "budget.yaml")
BUDGET_IDS = [inv.id for inv in BUDGET.budget.investments]
PRICES = {inv.id: inv.price for inv in BUDGET.budget.investments}


@st.composite
def poll_records(draw) -> list[MergedRecord]:
    records = []
    for record_id in range(1, draw(st.integers(0, 40)) + 1):
        state = draw(st.sampled_from(list(RecordState)))
        choices = {}
        for question in POLL.questions:
            options = draw(st.lists(st.sampled_from([o.id for o in question.options]), unique=True,
                                    max_size=question.max_choices))
            if options:
                choices[question.id] = tuple(options)
        records.append(MergedRecord(record_id, draw(st.sampled_from(CHANNELS)), record_id, f"x:{record_id}", None,
                                    state, (), choices, blank=state is RecordState.COUNTED and not choices))
    return records


@st.composite
def budget_records(draw) -> list[MergedRecord]:
    records = []
    for record_id in range(1, draw(st.integers(0, 60)) + 1):
        chosen = draw(st.lists(st.sampled_from(BUDGET_IDS), unique=True, max_size=8))
        spent, valid = 0, []
        for investment in chosen:  # what the rules let count: never over the heading's amount
            if spent + PRICES[investment] <= BUDGET.budget.heading.amount:
                valid.append(investment)
                spent += PRICES[investment]
        state = draw(st.sampled_from([RecordState.COUNTED, RecordState.COUNTED, RecordState.REVIEW,
                                      RecordState.REJECTED]))
        choices = {"budget": tuple(valid)} if valid else {}
        records.append(MergedRecord(record_id, draw(st.sampled_from(CHANNELS)), record_id, f"x:{record_id}", None,
                                    state, (), choices, blank=state is RecordState.COUNTED and not valid))
    return records


def result_of(process, records) -> MergeResult:
    channels = active_channels(process, records)
    return MergeResult(process, records, tally_of(process, records), booth_counts(records, channels), {}, 0, 0, 0,
                       channels)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=poll_records())
def test_tally_equals_the_counts_of_votes_per_channel(records, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tally")
    result = result_of(POLL, records)
    write_plain_csv(folder / "votes.csv", VOTES_COLUMNS, votes_rows(records))
    write_csv(folder / "tally.csv", TALLY_COLUMNS, tally_rows(result))
    from_votes = Counter((v["question"], v["option"], v["channel"]) for v in read_csv(folder / "votes.csv"))
    for row in read_csv(folder / "tally.csv"):
        for channel in CHANNELS:
            assert int(row[channel]) == from_votes[(row["question"], row["option"], channel)]
        assert int(row["total"]) == sum(int(row[c]) for c in CHANNELS)
    assert sum(from_votes.values()) == sum(sum(len(o) for o in r.choices.values())
                                           for r in records if r.state is RecordState.COUNTED)


def consul_pastes(text: str) -> list[list[str]]:
    """What CONSUL makes of a pasted ballot sheet: a ballot per line, investments added one
    at a time, each skipped when it is unknown, chosen already or does not fit."""
    ballots = []
    for line in re.split(r"[;\n]", text):
        taken, spent = [], 0
        for investment in line.split(","):
            investment = investment.strip()
            if investment in PRICES and investment not in taken \
                    and spent + PRICES[investment] <= BUDGET.budget.heading.amount:
                taken.append(investment)
                spent += PRICES[investment]
        ballots.append(taken)
    return ballots


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=budget_records(), lines=st.sampled_from([SHEET_LINES, 7]))
def test_ballot_sheets_pasted_into_consul_give_the_tally(records, lines, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sheets")
    result = result_of(BUDGET, records)
    files = write_budget_files(result, folder, lines_per_file=lines)
    pasted: Counter = Counter()
    ballots_in_sheets = Counter()
    for sheet in files.sheets:
        text = (folder / sheet.name).read_text(encoding="utf-8")
        ballots = consul_pastes(text)
        assert all(ballots), f"{sheet.name}: an empty ballot"
        assert len(ballots) == sheet.lines <= lines
        assert text.split("\n") == [",".join(b) for b in ballots]  # nothing CONSUL would skip
        ballots_in_sheets[sheet.booth] += len(ballots)
        channel = {"Papier": "paper", "SMS": "sms", "Telefon": "voice"}[sheet.booth]
        for ballot in ballots:
            pasted.update((channel, investment) for investment in ballot)
    for row in result.tally:
        for channel in CHANNELS:
            assert row.counts[channel] == pasted[(channel, row.option)]
    counted = Counter(r.channel for r in records if r.state is RecordState.COUNTED and r.choices)
    blank = Counter(r.channel for r in records if r.state is RecordState.COUNTED and not r.choices)
    for booth, channel in (("Papier", "paper"), ("SMS", "sms"), ("Telefon", "voice")):
        assert ballots_in_sheets[booth] == counted[channel]
        assert files.left_out[(booth, "empty")] == blank[channel]


@given(st.text(max_size=20))
def test_no_text_cell_can_start_a_formula(text):
    cell = safe_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (text, "'" + text)


def test_a_sheet_over_the_row_limit_is_cut_with_a_note(tmp_path: Path):
    records = [MergedRecord(i, "sms", i, f"sms:SM{i}", None, RecordState.REJECTED, (Reason.UNKNOWN_CODE,), {})
               for i in range(1, 31)]
    write_results_workbook(result_of(POLL, records), tmp_path / "r.xlsx", head="0" * 64, row_limit=12)
    rows = list(load_workbook(tmp_path / "r.xlsx", read_only=True)["Stimmzettel"].iter_rows(values_only=True))
    assert len(rows) == 12
    assert rows[-1][0].startswith("… 10 von 30 Zeilen gezeigt")
    # In English throughout when asked; a provisional workbook keeps its notice above the header.
    write_results_workbook(result_of(POLL, records), tmp_path / "e.xlsx", head="0" * 64, row_limit=12, language="en",
                           provisional="PROVISIONAL")
    rows = list(load_workbook(tmp_path / "e.xlsx", read_only=True)["Records"].iter_rows(values_only=True))
    assert len(rows) == 12 and rows[0][0] == "PROVISIONAL"
    assert rows[1] == ("Record", "Channel", "Serial", "Source", "Received", "Status", "Reasons")
    assert rows[2][:3] == (1, "SMS", 1) and rows[2][5:] == ("rejected", "unknown code")
    assert rows[-1][0].startswith("… 9 of 30 rows shown")
