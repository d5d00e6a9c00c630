"""`hybrid merge`: count, write every output of DESIGN §8, and seal it in the audit chain.

Order matters: the CSV and CONSUL files (entry sheet included) are written first, their
sha256 go into one audit entry ("export"), and the head hash after that entry is what results.xlsx,
report.pdf and the command print; audit.jsonl is the chain's copy up to that head.
Files are replaced whole (written beside, then renamed), and the files to be entered
that an earlier merge left (ballot sheets, poll figures, Decidim imports, provisional or
not) are removed first, so one from an earlier merge can never be entered by mistake.

Provisional until final (`hybrid.provisional`): `write_merge(final=True)` refuses with
`NotFinal` while anything waits for a person, and only it writes unmarked files.
Under `platform: decidim` the platform's files go to decidim/ instead of consul/.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hybrid import audit, review
from hybrid.results.consul_files import ConsulFiles, write_consul_folder
from hybrid.results.decidim_files import write_decidim_folder
from hybrid.definition import Process
from hybrid.merge import MergeResult, merge_records, no_cycle_collection
from hybrid.provisional import NOTICE_CONSUL, NOTICE_DECIDIM, Provisional
from hybrid.results.public_files import (
    BALLOTS_COLUMNS,
    COMMENTS_COLUMNS,
    TALLY_COLUMNS,
    VOTES_COLUMNS,
    ballots_rows,
    comments_rows,
    tally_rows,
    votes_rows,
    write_csv,
    write_plain_csv,
    write_cvr,
)
from hybrid.results.workbook import write_results_workbook
from hybrid.store import Store


class NotFinal(Exception):
    """`merge --final` while something waits for a person; `open_items` says what."""

    def __init__(self, open_items: tuple[str, ...]) -> None:
        super().__init__("; ".join(open_items))
        self.open_items = open_items


@dataclass(frozen=True)
class MergeOutputs:
    result: MergeResult
    folder: Path
    head: str
    files: dict[str, str]  # path relative to the folder → sha256
    consul: ConsulFiles | None  # None under platform: decidim
    provisional: Provisional | None = None  # None: a final merge


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write to a file beside `path`, then rename it into place."""
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    os.replace(partial, path)


def write_audit_copy(store: Store, path: Path) -> int:
    def write(target: Path) -> None:
        with open(target, "w", encoding="utf-8") as handle:
            for entry in audit.entries(store):
                handle.write(json.dumps(entry.as_json(), ensure_ascii=False, sort_keys=True) + "\n")

    _replace(path, write)
    return sum(1 for _ in open(path, encoding="utf-8"))


_ENTERED = ("*ballot-sheet-*.txt", "*poll-*-results.csv", "*poll-*-recounts.csv", "*paper-ballots-*.csv",
            "*paper-ballots-*.xlsx")


def _clear_old_files(folder: Path) -> None:
    """Remove what an earlier merge wrote to be entered into CONSUL or Decidim."""
    for sub in ("consul", "decidim"):
        if (folder / sub).is_dir():
            for pattern in _ENTERED:
                for old in (folder / sub).glob(pattern):
                    old.unlink()


def write_merge(store: Store, process: Process, folder: Path, *, now: datetime | None = None,
                final: bool = False) -> MergeOutputs:
    """Merge every channel and write ballots.csv, votes.csv, tally.csv, comments.csv,
    consul/ (or decidim/), results.xlsx, report.pdf and audit.jsonl into `folder`.
    Not `final`: every output is marked provisional. `final`: raises `NotFinal`, writing
    nothing, while anything waits for a person."""
    now = now or datetime.now(timezone.utc)
    with no_cycle_collection():
        return _write_merge(store, process, folder, now, final)


def _write_merge(store: Store, process: Process, folder: Path, now: datetime, final: bool) -> MergeOutputs:
    result = merge_records(store, process, clock=now)
    open_items = result.open_items()
    if final and open_items:
        raise NotFinal(open_items)
    provisional = None if final else Provisional(NOTICE_DECIDIM if process.platform == "decidim" else NOTICE_CONSUL,
                                                 open_items)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def csv_file(name: str, header, rows) -> None:
        path = folder / name
        _replace(path, lambda target: write_csv(target, header, rows))
        written.append(path)

    csv_file("ballots.csv", BALLOTS_COLUMNS, ballots_rows(result.records))
    votes = folder / "votes.csv"
    _replace(votes, lambda target: write_plain_csv(target, VOTES_COLUMNS, votes_rows(result.records)))
    written.append(votes)
    csv_file("tally.csv", TALLY_COLUMNS, tally_rows(result))
    csv_file("comments.csv", COMMENTS_COLUMNS, comments_rows(review.confirmed_comments(store)))
    _clear_old_files(folder)
    from hybrid.results.report_pdf import write_report  # reportlab: only where PDFs are made

    consul: ConsulFiles | None = None
    if process.platform == "decidim":
        written += write_decidim_folder(result, folder / "decidim", provisional)
    else:
        from hybrid.results.entry_sheet import write_entry_sheet

        consul_dir = folder / "consul"
        consul = write_consul_folder(result, consul_dir, provisional)
        written += consul.written
        entry_sheet = consul_dir / "entry-sheet.pdf"
        files_for_sheet = consul
        _replace(entry_sheet, lambda target: write_entry_sheet(result, target, consul=files_for_sheet,
                                                               provisional=provisional))
        written.append(entry_sheet)
    files = {str(p.relative_to(folder)): sha256_of(p) for p in written}
    counted = sum(1 for r in result.records if r.state.value == "counted")
    with store.transaction():
        head = audit.append(store, "export", {
            "what": "merge", "final": final, "records": len(result.records), "counted": counted,
            "awaiting_review": len(result.awaiting_review), "unreadable_pages": result.unreadable_pages,
            "redecided": result.redecided, "files": files,
        })
    notice = provisional.notice if provisional else None
    _replace(folder / "results.xlsx", lambda target: write_results_workbook(result, target, head=head,
                                                                             provisional=notice))
    _replace(folder / "report.pdf", lambda target: write_report(result, target, head=head, consul=consul,
                                                                 generated_at=now, provisional=provisional))
    write_audit_copy(store, folder / "audit.jsonl")
    return MergeOutputs(result, folder, head, files, consul, provisional)


def export_cvr(store: Store, process: Process, path: Path) -> tuple[int, str]:
    """The confidential cast-vote records (DESIGN §8); returns (records, audit head)."""
    result = merge_records(store, process)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0

    def write(target: Path) -> None:
        nonlocal count
        count = write_cvr(target, result.records)

    _replace(path, write)
    with store.transaction():
        head = audit.append(store, "export", {"what": "cvr", "records": count, "sha256": sha256_of(path)})
    return count, head
