"""Compare a scanned test deck with its truth (`hybrid simulate` writes truth.json).

The acceptance bar for the reader: no ballot counted with choices other than the
truth's, every page accounted for, and few truly clean ballots sent to a person.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hybrid.states import PageState, RecordState
from hybrid.store import Store
from hybrid.store import pages as store_pages
from hybrid.store import records as store_records
from ocr.page_source import sha256_file


@dataclass
class DeckCheck:
    ballots: int = 0
    expected_counted: int = 0
    counted_as_truth: int = 0
    miscounted: list[str] = field(default_factory=list)  # counted with other choices than the truth's
    clean_sent_to_review: list[str] = field(default_factory=list)  # truth: counted; store: review
    review_counted: list[str] = field(default_factory=list)  # truth: review; store: counted (same choices)
    missing_records: list[str] = field(default_factory=list)
    page_mismatches: list[str] = field(default_factory=list)
    pages_in_truth: int = 0
    pages_in_store: int = 0

    @property
    def review_rate_of_clean(self) -> float:
        return len(self.clean_sent_to_review) / self.expected_counted if self.expected_counted else 0.0

    def describe(self) -> str:
        return (f"{self.ballots} ballots: {self.counted_as_truth}/{self.expected_counted} clean ones counted as "
                f"intended, {len(self.clean_sent_to_review)} clean ones sent to review "
                f"({self.review_rate_of_clean:.1%}), {len(self.miscounted)} miscounted; pages: "
                f"{self.pages_in_store} stored of {self.pages_in_truth}, {len(self.page_mismatches)} in another state")


def _choices(raw: dict) -> dict[str, list[str]]:
    return {q: sorted(opts) for q, opts in raw.items() if opts}


def check_deck(store: Store, deck: Path) -> DeckCheck:
    """Every ballot and page of the deck's truth against what the store holds."""
    truth = json.loads((deck / "truth.json").read_text(encoding="utf-8"))
    scans = deck / "scans"
    sha_of = {p.name: sha256_file(p) for p in scans.iterdir() if p.is_file()}
    result = DeckCheck()
    records = {
        outcome.serial: (RecordState(outcome.status), _choices(json.loads(outcome.choices)))
        for outcome in store_records.paper_outcomes(store)
    }
    for ballot in truth["ballots"]:
        expected = ballot["expected"]
        if not any(p.get("state") == PageState.IDENTIFIED.value for p in ballot.get("pages", [])):
            continue  # never reaches the store as a ballot (e.g. only rejected pages)
        result.ballots += 1
        name = f"serial {ballot['serial']} ({', '.join(ballot.get('behaviour', []))})"
        found = records.get(ballot["serial"])
        want = _choices(expected.get("choices") or {})
        if expected["status"] == RecordState.COUNTED.value:
            result.expected_counted += 1
        if found is None:
            result.missing_records.append(name)
            continue
        state, choices = found
        if state is RecordState.COUNTED:
            intent = _choices(ballot.get("intent") or {})
            if expected["status"] == RecordState.COUNTED.value and choices == want:
                result.counted_as_truth += 1
            elif expected["status"] != RecordState.COUNTED.value and choices == intent:
                result.review_counted.append(name)
            else:
                result.miscounted.append(f"{name}: counted {choices}, truth {expected['status']} {want or intent}")
        elif expected["status"] == RecordState.COUNTED.value and state is RecordState.REVIEW:
            result.clean_sent_to_review.append(name)
    stored = store_pages.state_by_source(store)
    result.pages_in_store = len(stored)
    for page in truth["pages"]:
        result.pages_in_truth += 1
        source = f"scan:{sha_of[page['file']]}#p{page['index']}"
        got = stored.get(source)
        if got is None:
            result.page_mismatches.append(f"{page['file']} page {page['index']}: not in the store")
        elif got != page["state"]:
            result.page_mismatches.append(f"{page['file']} page {page['index']}: {got}, truth {page['state']}")
    return result


def main() -> None:
    """`python -m deck.check DECK`: how a scanned test deck compares with its truth."""
    import os
    import sys

    from hybrid.workspace import Workspace
    from deck.build import deck_environment

    deck = Path(sys.argv[1])
    os.environ.update(deck_environment(deck))
    os.environ.pop("HYBRID_SECRET", None)
    store = Workspace(deck / "workspace").open_store()
    result = check_deck(store, deck)
    print(result.describe())
    for line in result.miscounted + result.page_mismatches:
        print(f"  {line}")
    sys.exit(1 if result.miscounted or result.page_mismatches or result.missing_records else 0)


if __name__ == "__main__":
    main()
