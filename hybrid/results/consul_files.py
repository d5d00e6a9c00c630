"""What CONSUL staff enter into CONSUL (DESIGN §8, "CONSUL facts").

Polls: one booth per channel ("Papier", "SMS", "Telefon"); per question the amount of
every option in CONSUL's given order, then whites, nulls and total (valid ballots only).
Our mapping: whites = counted ballots without any choice; nulls = ballots with a valid
code whose content cannot count (a reviewer's "ballot invalid", an SMS or call that
chose too much); total = every other counted ballot, including partly valid ones (a
question left invalid simply has no amount). Late, early, void, duplicate, superseded,
rejected records and chatter are not entered at all.

Budgets: ballot sheets. CONSUL adds a line's investments one at a time and silently
skips one that breaks a rule, so every ballot is checked here first the same way
(`consul_line_problem`); only fully valid ballots are written, no empty lines, at most
250 lines a file (what CONSUL verifies comfortably in one web request: each line is
several queries and inserts), and what was left out is counted with its reason. The lines are
`shuffled`: CONSUL keeps their order forever, and the order of the records would match
them to serials (paper) or MessageSids (SMS) in ballots.csv.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hybrid.results.consul_readme import readme_text
from hybrid.definition import Budget, Option, Process, Question
from hybrid.merge import BOOTHS, MergedRecord, MergeResult
from hybrid.provisional import Provisional, file_name
from hybrid.results.public_files import shuffled, write_csv
from hybrid.states import RecordState

SHEET_LINES = 250
RESULTS_COLUMNS = ("booth", "question_id", "question", "option_order", "option", "amount")
RECOUNTS_COLUMNS = ("booth", "whites", "nulls", "total")
SHEETS_COLUMNS = ("file", "booth", "lines", "first_line", "last_line")
LEFT_OUT_COLUMNS = ("booth", "reason", "ballots")
LEFT_OUT_REASONS = {
    "empty": "no investment chosen: an empty line would create an empty ballot",
    "unknown_investment": "an investment that is not selected in this budget",
    "twice": "the same investment twice",
    "no_money_left": "over the heading's amount (CONSUL would skip the investment that does not fit)",
    "too_many": "more investments than the heading allows",
}


@dataclass(frozen=True)
class SheetFile:
    name: str
    booth: str
    lines: int
    first_line: int  # over all files of the booth, from 1
    last_line: int


@dataclass(frozen=True)
class ConsulFiles:
    written: list[Path]
    sheets: list[SheetFile]
    left_out: Counter  # (booth, reason) → ballots
    sheet_counts: Counter  # (booth, investment id) → lines that hold it


def consul_title(process: Process, text: dict[str, str]) -> str:
    """The title CONSUL shows: German where the process has it, else its first language."""
    return text.get("de") or process.text(text, process.languages[0])


def consul_ordered(question: Question) -> list[Option]:
    """A question's options in CONSUL's given order (options without one last, as printed)."""
    ranked = sorted(enumerate(question.options),
                    key=lambda pair: (pair[1].consul_order if pair[1].consul_order is not None else 10**6, pair[0]))
    return [option for _, option in ranked]


def consul_line_problem(process: Process, investments: Sequence[str]) -> str | None:
    """Why CONSUL would not take this ballot whole (adding one investment at a time), or None."""
    assert process.budget is not None
    return _line_problem(process.budget, {inv.id: inv.price or 0 for inv in process.budget.investments}, investments)


def _line_problem(budget: Budget, prices: Mapping[str, int], investments: Sequence[str]) -> str | None:
    if not investments:
        return "empty"
    taken: list[str] = []
    spent = 0
    for investment in investments:
        if investment not in prices:
            return "unknown_investment"
        if investment in taken:
            return "twice"
        if budget.voting_style == "knapsack" and spent + prices[investment] > budget.heading.amount:
            return "no_money_left"
        if budget.voting_style == "approval" and budget.max_lines is not None and len(taken) >= budget.max_lines:
            return "too_many"
        taken.append(investment)
        spent += prices[investment]
    return None


def write_poll_files(result: MergeResult, folder: Path, provisional: Provisional | None = None) -> list[Path]:
    process = result.process
    poll = process.consul.poll_id if process.consul.poll_id is not None else "x"
    results_path = folder / file_name(f"poll-{poll}-results.csv", provisional)
    recounts_path = folder / file_name(f"poll-{poll}-recounts.csv", provisional)
    by_item = {(row.question, row.option): row for row in result.tally}
    rows = []
    for channel in result.channels:
        for question in process.questions:
            for position, option in enumerate(consul_ordered(question), start=1):
                order = option.consul_order if option.consul_order is not None else position
                rows.append((BOOTHS[channel], "" if question.consul_id is None else question.consul_id,
                             consul_title(process, question.text), order, consul_title(process, option.text),
                             by_item[(question.id, option.id)].counts.get(channel, 0)))
    write_csv(results_path, RESULTS_COLUMNS, rows)
    write_csv(recounts_path, RECOUNTS_COLUMNS, ((b.booth, b.whites, b.nulls, b.total) for b in result.booths))
    return [results_path, recounts_path]


def budget_lines(process: Process, records: Iterable[MergedRecord]) -> dict[str, tuple[list[str], Counter]]:
    """Per channel: the ballot-sheet lines in random order, and what was left out (reason → ballots)."""
    budget = process.budget
    assert budget is not None
    prices = {inv.id: inv.price or 0 for inv in budget.investments}
    out: dict[str, tuple[list[str], Counter]] = {}
    for record in records:
        if record.state is not RecordState.COUNTED:
            continue
        lines, left_out = out.setdefault(record.channel, ([], Counter()))
        investments = record.choices.get("budget", ())
        problem = _line_problem(budget, prices, investments)
        if problem:
            left_out[problem] += 1
        else:
            lines.append(",".join(investments))
    return {channel: (shuffled(lines), left_out) for channel, (lines, left_out) in out.items()}


def write_budget_files(result: MergeResult, folder: Path, *, lines_per_file: int = SHEET_LINES,
                       provisional: Provisional | None = None) -> ConsulFiles:
    process = result.process
    written: list[Path] = []
    sheets: list[SheetFile] = []
    left_out: Counter = Counter()
    sheet_counts: Counter = Counter()
    by_channel = budget_lines(process, result.records)
    for channel in result.channels:
        booth = BOOTHS[channel]
        lines, missing = by_channel.get(channel, ([], Counter()))
        for reason, n in missing.items():
            left_out[(booth, reason)] += n
        for line in lines:
            for investment in line.split(","):
                sheet_counts[(booth, investment)] += 1
        for index in range(0, len(lines), lines_per_file):
            chunk = lines[index:index + lines_per_file]
            # The booth as CONSUL names it; VORLAEUFIG- in front while provisional.
            name = file_name(f"ballot-sheet-{booth}-{index // lines_per_file + 1:03d}.txt", provisional)
            # No trailing newline: CONSUL splits on ";" and newlines; nothing may make an empty ballot.
            (folder / name).write_text("\n".join(chunk), encoding="utf-8")
            written.append(folder / name)
            sheets.append(SheetFile(name, booth, len(chunk), index + 1, index + len(chunk)))
    sheets_path = folder / "ballot-sheets.csv"
    write_csv(sheets_path, SHEETS_COLUMNS, ((s.name, s.booth, s.lines, s.first_line, s.last_line) for s in sheets))
    left_path = folder / "ballot-sheets-left-out.csv"
    write_csv(left_path, LEFT_OUT_COLUMNS, ((booth, reason, n) for (booth, reason), n in sorted(left_out.items())))
    written += [sheets_path, left_path]
    return ConsulFiles(written, sheets, left_out, sheet_counts)


def write_consul_folder(result: MergeResult, folder: Path, provisional: Provisional | None = None) -> ConsulFiles:
    """consul/: the poll's results and recounts, or the budget's ballot sheets; README.txt.
    While `provisional`, the files to be entered carry the VORLAEUFIG- prefix and README.txt
    opens with the notice."""
    folder.mkdir(parents=True, exist_ok=True)
    if result.process.kind == "poll":
        files = ConsulFiles(write_poll_files(result, folder, provisional), [], Counter(), Counter())
    else:
        files = write_budget_files(result, folder, provisional=provisional)
    readme = folder / "README.txt"
    readme.write_text(readme_text(result, files, provisional), encoding="utf-8")
    files.written.append(readme)
    return files
