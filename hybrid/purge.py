"""`hybrid purge`: what goes once `retention_days` have passed after `closes` (DESIGN §2, §3, §9).

Goes:
- raw SMS texts (`sms_messages.body`);
- phone hashes (`sms_messages`, `voice_calls`, `records`). Under `identity: phone` the
  votes of one phone must stay together (merge decides them again), so each phone's
  hash in `records` becomes a random placeholder (`purged-<32 hex>`), the same for all
  its records, and its claim is renamed to `phone:<placeholder>`: the claim stays valid,
  but nobody, not even with the key, can link it to a number again. Under
  `identity: code` the hash is simply removed; a claim keyed by a phone (not normally
  there) gets a placeholder too;
- scan images: the content-addressed copies under `scans/` (`inputs.archived` becomes
  NULL) and the review and comment crops under `scans/crops/`. Files in `scans/` that
  hybrid did not make are left alone and listed;
- the messages and calls at the phone provider, through a `ProviderEraser` (Twilio's:
  `sms.twilio_cleanup`; hybrid never imports twilio). Each one deleted (or already gone)
  is marked `twilio_deleted = 1`, so a later run retries only what failed. Then the
  provider's copies the store never names (the webhook's replies, which carry the
  voter's number) are listed for the days of the stored messages (and the day after)
  and deleted; a later run lists again, so what failed is found again.

Stays: every record with its state, reasons and choices, the claims, pages and their
readings, review decisions, printed ballots and the audit chain: counts and votes are
the same after a purge. One audit entry ("purge", with the counts) is written by a run
that changed anything; a run with nothing left to do changes nothing. Each step writes
in short transactions (a few hundred rows, one phone, one file, one message), so the
webhook is never locked out.

A caller may rely on: `purge` refuses (`RetentionNotOver`, exit 2) before
`purge_from(process)` and deletes nothing; `plan_purge` only reads. Both take a clock,
so tests need not wait half a year.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from hybrid import audit, identity_votes
from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.store import Store, purging
from hybrid.store.purging import PLACEHOLDER_PREFIX, ProviderKind
from hybrid.workspace import Workspace

Clock = Callable[[], datetime]
_ARCHIVED = re.compile(r"^[0-9a-f]{64}\.[A-Za-z0-9]+(\.partial)?$")  # ocr.batch.archive's names
_CROP = re.compile(r"^[0-9a-f]{16}-p[0-9]+-(review\.png|comment\.png|evidence-[a-z]+-[0-9a-f]{8}\.jpg)$")  # crops of ocr.batch and review.evidence


class RetentionNotOver(InvalidInput):
    """`hybrid purge` before `closes` + `retention_days`: nothing was deleted."""


class ProviderDeleteFailed(Exception):
    """An eraser could not delete one message or call.

    `why`: "refused" (credentials), "unreachable" (network), or "failed" (any other
    answer). With `stop`, trying the rest is pointless (refused, unreachable)."""

    def __init__(self, message: str, why: str = "failed", stop: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.why = why
        self.stop = stop


class ProviderEraser(Protocol):
    """Deletes stored messages and calls at the phone provider."""

    name: str  # e.g. "Twilio", for messages to people

    def delete(self, kind: ProviderKind, sid: str) -> bool:
        """True when deleted now, False when the provider does not have it (already
        deleted); ProviderDeleteFailed otherwise."""
        ...

    def replies(self, since: datetime, until: datetime) -> list[str]:
        """The SIDs of our replies sent from `since` to `until` (whole days) that the
        provider still holds; ProviderDeleteFailed when they cannot be listed."""
        ...


@dataclass(frozen=True)
class PurgeCounts:
    """What a purge deletes (plan) or deleted (report)."""

    sms_bodies: int = 0  # raw SMS texts
    phone_hashes: int = 0  # rows that hold a phone hash: records, sms_messages, voice_calls
    phone_identities: int = 0  # claims / phones given a placeholder (identity: phone)
    scan_files: int = 0  # content-addressed copies of inputs
    crop_files: int = 0
    scan_bytes: int = 0  # of scan_files and crop_files together
    provider_messages: int = 0  # messages to delete (plan) / deleted (report) at the provider
    provider_calls: int = 0
    provider_replies: int = 0  # deleted (report only: a plan does not ask the provider)

    @property
    def anything(self) -> bool:
        return any((self.sms_bodies, self.phone_hashes, self.phone_identities, self.scan_files, self.crop_files,
                    self.provider_messages, self.provider_calls, self.provider_replies))


@dataclass(frozen=True)
class PurgePlan:
    purge_from: datetime  # closes + retention_days; purging is allowed from then on
    now: datetime
    counts: PurgeCounts
    other_files: tuple[str, ...]  # under scans/, not made by hybrid: left alone

    @property
    def allowed(self) -> bool:
        return self.now >= self.purge_from


@dataclass(frozen=True)
class ProviderFailure:
    kind: str  # message | call | reply | replies (listing them failed)
    sid: str
    why: str  # refused | unreachable | failed
    message: str


@dataclass(frozen=True)
class PurgeReport:
    purge_from: datetime
    done: PurgeCounts
    pending_messages: int  # still stored at the provider: failed, not tried, or no eraser
    pending_calls: int
    failures: tuple[ProviderFailure, ...]  # this run's, in order
    provider: str | None  # the eraser's name; None when none was given
    other_files: tuple[str, ...]
    audit_head: str | None  # the "purge" entry; None when nothing changed

    @property
    def complete(self) -> bool:
        """Nothing personal is known to be left, here or at the provider."""
        return not (self.pending_messages or self.pending_calls or self.failures)


def purge_from(process: Process) -> datetime:
    """The moment from which `purge` may run: `closes` + `retention_days`."""
    return process.closes + timedelta(days=process.retention_days)


def _now(clock: Clock | None) -> datetime:
    now = (clock or (lambda: datetime.now(timezone.utc)))()
    if now.tzinfo is None:
        raise ValueError("the clock must give an aware datetime")
    return now


# -- what would go ---------------------------------------------------------------------------


def plan_purge(ws: Workspace, store: Store, *, clock: Clock | None = None) -> PurgePlan:
    """What a purge would delete now; reads only (`hybrid purge --dry-run`)."""
    process = ws.process
    identities = _phone_identities(store)
    archived, crops, other = _scan_files(ws, store)
    provider = purging.pending_at_provider(store)
    counts = PurgeCounts(
        sms_bodies=purging.sms_bodies(store),
        phone_hashes=purging.phone_hash_rows(store),
        phone_identities=len(identities) if process.identity == "phone" else len(purging.claimed_phones(store)),
        scan_files=len(archived),
        crop_files=len(crops),
        scan_bytes=sum(_size(p) for p in (*archived, *crops)),
        provider_messages=provider.messages,
        provider_calls=provider.calls,
    )
    return PurgePlan(purge_from(process), _now(clock), counts, tuple(other))


def _phone_identities(store: Store) -> set[str]:
    """Phone hashes still in records or claims (not placeholders)."""
    return purging.record_phones(store) | set(purging.claimed_phones(store))


def _scan_files(ws: Workspace, store: Store) -> tuple[list[Path], list[Path], list[str]]:
    """(input copies, crops, other files) under scans/: copies named in `inputs.archived`
    or by their content-addressed name, crops by ocr.batch's crop names."""
    scans = ws.scans_dir
    archived: dict[Path, None] = {}
    for name in purging.archived_copies(store):
        path = _inside(ws.root, name, scans)
        if path is not None and path.is_file():
            archived[path] = None
    crops: list[Path] = []
    other: list[str] = []
    if scans.is_dir():
        for path in sorted(scans.rglob("*")):
            if not path.is_file() or path in archived:
                continue
            if path.parent == scans and _ARCHIVED.match(path.name):
                archived[path] = None
            elif path.parent == scans / "crops" and _CROP.match(path.name):
                crops.append(path)
            else:
                other.append(str(path.relative_to(ws.root)))
    return list(archived), crops, other


def _inside(root: Path, name: str, folder: Path) -> Path | None:
    """`root / name` when it lies inside `folder` (a stored path never leads elsewhere)."""
    path = (root / name).resolve()
    try:
        path.relative_to(folder.resolve())
    except ValueError:
        return None
    return path


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# -- purging ---------------------------------------------------------------------------------


def purge(ws: Workspace, store: Store, *, clock: Clock | None = None,
          eraser: ProviderEraser | None = None) -> PurgeReport:
    """Delete what retention covers (see the module docstring); RetentionNotOver before
    `purge_from`. Without `eraser`, nothing is deleted at the provider and the stored
    messages and calls are reported as pending."""
    process = ws.process
    start = purge_from(process)
    now = _now(clock)
    if now < start:
        raise RetentionNotOver(
            f"the retention period of {process.id} runs until {start.isoformat()} (closes {process.closes.isoformat()} "
            f"+ retention_days {process.retention_days} in {ws.definition_path}); nothing was deleted. "
            "See what would go: hybrid purge --dry-run")
    bodies = purging.forget_sms_bodies(store)
    hashes = purging.forget_provider_phones(store)
    identities = 0
    if process.identity == "phone":
        for phone_hash in sorted(_phone_identities(store)):
            hashes += _replace_phone(store, phone_hash)
            identities += 1
    else:
        hashes += purging.forget_record_phones(store)
        for phone_hash in purging.claimed_phones(store):
            _replace_phone(store, phone_hash)
            identities += 1
    scan_files, crop_files, freed, other = _delete_scans(ws, store)
    messages, calls, replies, failures = _delete_at_provider(store, eraser)
    done = PurgeCounts(bodies, hashes, identities, scan_files, crop_files, freed, messages, calls, replies)
    pending = purging.pending_at_provider(store)
    head = None
    if done.anything:
        body = {"purge_from": start.isoformat(), "sms_bodies": bodies, "phone_hashes": hashes,
                "phone_identities": identities, "scan_files": scan_files, "crop_files": crop_files,
                "provider": eraser.name if eraser else None, "provider_messages_deleted": messages,
                "provider_calls_deleted": calls, "provider_replies_deleted": replies,
                "provider_failures": len(failures),
                "provider_pending_messages": pending.messages, "provider_pending_calls": pending.calls}
        with store.transaction():
            head = audit.append(store, "purge", body)
    return PurgeReport(start, done, pending.messages, pending.calls, tuple(failures),
                       eraser.name if eraser else None, tuple(other), head)


def _replace_phone(store: Store, phone_hash: str) -> int:
    """One phone's records and claim under a fresh placeholder, in one transaction; records changed."""
    placeholder = PLACEHOLDER_PREFIX + secrets.token_hex(16)
    with store.transaction():
        identity_votes.lock_identity(store, f"phone:{phone_hash}")  # as every writer of this phone's votes does
        return purging.rename_phone(store, phone_hash, placeholder)


def _delete_scans(ws: Workspace, store: Store) -> tuple[int, int, int, list[str]]:
    """(copies deleted, crops deleted, bytes freed, other files left alone)."""
    archived, crops, other = _scan_files(ws, store)
    freed = 0
    for path in (*archived, *crops):
        freed += _size(path)
        path.unlink(missing_ok=True)
    # A copy that is gone (now or by hand) is no longer archived.
    purging.forget_archived_copies(store)
    return len(archived), len(crops), freed, other


def _delete_at_provider(store: Store, eraser: ProviderEraser | None
                        ) -> tuple[int, int, int, list[ProviderFailure]]:
    """(messages, calls, replies deleted, failures); each stored one marked in its own transaction."""
    if eraser is None:
        return 0, 0, 0, []
    done = {"message": 0, "call": 0, "reply": 0}
    failures: list[ProviderFailure] = []

    def delete(kind: ProviderKind, sid: str, shown: str) -> bool:
        """False when the rest is pointless (refused, unreachable)."""
        try:
            eraser.delete(kind, sid)
        except ProviderDeleteFailed as exc:
            failures.append(ProviderFailure(shown, sid, exc.why, exc.message))
            return not exc.stop
        done[shown] += 1
        return True

    def result() -> tuple[int, int, int, list[ProviderFailure]]:
        return done["message"], done["call"], done["reply"], failures

    kinds: tuple[ProviderKind, ...] = ("message", "call")
    for kind in kinds:
        for sid in purging.not_deleted_at_provider(store, kind):
            before = done[kind]
            if not delete(kind, sid, kind):
                return result()
            if done[kind] > before:
                with store.transaction():
                    purging.mark_deleted_at_provider(store, kind, sid)
    # A reply goes out when its message arrives: the days of the stored messages, and one more.
    span = purging.sms_sent_span(store)
    if span is None:
        return result()
    try:
        replies = eraser.replies(datetime.fromisoformat(span.first),
                                 datetime.fromisoformat(span.last) + timedelta(days=1))
    except ProviderDeleteFailed as exc:
        failures.append(ProviderFailure("replies", "", exc.why, exc.message))
        return result()
    for sid in replies:
        if not delete("message", sid, "reply"):
            break
    return result()
