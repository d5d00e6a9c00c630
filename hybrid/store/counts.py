"""Counts over the store for `status`, `merge` and `sms` (reads only, DESIGN §8, §9)."""

from __future__ import annotations

from dataclasses import dataclass

from hybrid.states import PageState
from hybrid.store.hub import Store


@dataclass(frozen=True)
class ProviderCopies:
    """Messages or calls stored, and how many of them were deleted at the provider."""

    stored: int
    deleted_at_provider: int


def pages_by_state(store: Store, batch: str | None = None) -> dict[str, int]:
    """Pages by PageState value, every state present (0 when none); of one batch or all."""
    if batch is None:
        found = dict(store.conn.execute("SELECT state, COUNT(*) FROM pages GROUP BY state").fetchall())
    else:
        found = dict(store.conn.execute("SELECT state, COUNT(*) FROM pages WHERE batch = ? GROUP BY state",
                                        (batch,)).fetchall())
    return {s.value: int(found.get(s.value, 0)) for s in PageState}


def sms_messages_by_via(store: Store) -> dict[str, int]:
    """Stored SMS by how they came in (webhook, pull, import; only those present)."""
    return dict(store.conn.execute("SELECT via, COUNT(*) FROM sms_messages GROUP BY via").fetchall())


def sms_messages(store: Store) -> ProviderCopies:
    row = store.conn.execute("SELECT COUNT(*), COALESCE(SUM(twilio_deleted), 0) FROM sms_messages").fetchone()
    return ProviderCopies(int(row[0]), int(row[1]))


def voice_calls(store: Store) -> ProviderCopies:
    row = store.conn.execute("SELECT COUNT(*), COALESCE(SUM(twilio_deleted), 0) FROM voice_calls").fetchone()
    return ProviderCopies(int(row[0]), int(row[1]))
