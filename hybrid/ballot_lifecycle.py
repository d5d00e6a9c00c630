"""A printed ballot's life after printing: void (lost, undeliverable) or replaced."""

from __future__ import annotations

from dataclasses import dataclass, field

from hybrid import audit
from hybrid.errors import InvalidInput
from hybrid.states import BallotState
from hybrid.store import BallotRow, Store


@dataclass
class VoidReport:
    voided: list[int] = field(default_factory=list)
    already_void: list[int] = field(default_factory=list)


def issued_ballots(store: Store, serials: list[int]) -> list[BallotRow]:
    """The ballots behind `serials`; an unknown serial is refused by number."""
    rows = []
    unknown = []
    for serial in serials:
        row = store.ballot(serial)
        if row is None:
            unknown.append(serial)
        else:
            rows.append(row)
    if unknown:
        raise InvalidInput(f"unknown serial(s): {', '.join(map(str, unknown))}; no ballot was printed with that number")
    return rows


def void_ballots(store: Store, serials: list[int], reason: str = "void") -> VoidReport:
    """Void each serial in its own transaction, with an audit entry; already void is reported, not an error."""
    report = VoidReport()
    for row in issued_ballots(store, serials):
        if row.state == BallotState.VOID:
            report.already_void.append(row.serial)
            continue
        with store.transaction():
            store.void_ballot(row.serial, reason)
            audit.append(store, "void", {"serial": row.serial, "reason": reason})
        report.voided.append(row.serial)
    return report
