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
from typing import Literal, Protocol

from hybrid import audit, identity_votes
from hybrid.definition import Process
from hybrid.errors import InvalidInput
from hybrid.store import Store
from hybrid.workspace import Workspace

Clock = Callable[[], datetime]
ProviderKind = Literal["message", "call"]  # what `ProviderEraser.delete` deletes
PLACEHOLDER_PREFIX = "purged-"
CHUNK = 500  # rows per write transaction
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
    conn = store.conn
    process = ws.process

    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    identities = _phone_identities(store)
    archived, crops, other = _scan_files(ws, store)
    counts = PurgeCounts(
        sms_bodies=count("SELECT COUNT(*) FROM sms_messages WHERE body IS NOT NULL"),
        phone_hashes=sum(count(f"SELECT COUNT(*) FROM {table} WHERE phone_hash IS NOT NULL{extra}")
                         for table, extra in _PHONE_TABLES),
        phone_identities=len(identities) if process.identity == "phone" else len(_phone_claims(store)),
        scan_files=len(archived),
        crop_files=len(crops),
        scan_bytes=sum(_size(p) for p in (*archived, *crops)),
        provider_messages=count("SELECT COUNT(*) FROM sms_messages WHERE twilio_deleted = 0"),
        provider_calls=count("SELECT COUNT(*) FROM voice_calls WHERE twilio_deleted = 0"),
    )
    return PurgePlan(purge_from(process), _now(clock), counts, tuple(other))


# Placeholders are not phone hashes: they stay.
_PHONE_TABLES = (("sms_messages", ""), ("voice_calls", ""),
                 ("records", f" AND phone_hash NOT LIKE '{PLACEHOLDER_PREFIX}%'"))


def _phone_identities(store: Store) -> set[str]:
    """Phone hashes still in records or claims (not placeholders)."""
    found = {h for (h,) in store.conn.execute(
        "SELECT DISTINCT phone_hash FROM records WHERE phone_hash IS NOT NULL AND phone_hash NOT LIKE ?",
        (f"{PLACEHOLDER_PREFIX}%",))}
    return found | set(_phone_claims(store))


def _phone_claims(store: Store) -> list[str]:
    """The phone hashes of claims keyed `phone:<hash>` (not placeholders)."""
    rows = store.conn.execute("SELECT identity FROM claims WHERE identity LIKE 'phone:%' AND identity NOT LIKE ?",
                              (f"phone:{PLACEHOLDER_PREFIX}%",))
    return [identity.partition(":")[2] for (identity,) in rows]


def _scan_files(ws: Workspace, store: Store) -> tuple[list[Path], list[Path], list[str]]:
    """(input copies, crops, other files) under scans/: copies named in `inputs.archived`
    or by their content-addressed name, crops by ocr.batch's crop names."""
    scans = ws.scans_dir
    archived: dict[Path, None] = {}
    for (name,) in store.conn.execute("SELECT archived FROM inputs WHERE archived IS NOT NULL"):
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
    bodies = _chunked(store, "sms_messages", "message_sid", "body IS NOT NULL", "body = NULL")
    hashes = _chunked(store, "sms_messages", "message_sid", "phone_hash IS NOT NULL", "phone_hash = NULL")
    hashes += _chunked(store, "voice_calls", "call_sid", "phone_hash IS NOT NULL", "phone_hash = NULL")
    identities = 0
    if process.identity == "phone":
        for phone_hash in sorted(_phone_identities(store)):
            hashes += _replace_phone(store, phone_hash)
            identities += 1
    else:
        real_hashes = f"phone_hash IS NOT NULL AND phone_hash NOT LIKE '{PLACEHOLDER_PREFIX}%'"
        hashes += _chunked(store, "records", "record_id", real_hashes, "phone_hash = NULL")
        for phone_hash in _phone_claims(store):
            _replace_phone(store, phone_hash)
            identities += 1
    scan_files, crop_files, freed, other = _delete_scans(ws, store)
    messages, calls, replies, failures = _delete_at_provider(store, eraser)
    done = PurgeCounts(bodies, hashes, identities, scan_files, crop_files, freed, messages, calls, replies)
    pending = {kind: int(store.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE twilio_deleted = 0").fetchone()[0])
               for kind, table in (("message", "sms_messages"), ("call", "voice_calls"))}
    head = None
    if done.anything:
        body = {"purge_from": start.isoformat(), "sms_bodies": bodies, "phone_hashes": hashes,
                "phone_identities": identities, "scan_files": scan_files, "crop_files": crop_files,
                "provider": eraser.name if eraser else None, "provider_messages_deleted": messages,
                "provider_calls_deleted": calls, "provider_replies_deleted": replies,
                "provider_failures": len(failures),
                "provider_pending_messages": pending["message"], "provider_pending_calls": pending["call"]}
        with store.transaction():
            head = audit.append(store, "purge", body)
    return PurgeReport(start, done, pending["message"], pending["call"], tuple(failures),
                       eraser.name if eraser else None, tuple(other), head)


def _chunked(store: Store, table: str, key: str, where: str, assignment: str) -> int:
    """`UPDATE table SET assignment WHERE where`, CHUNK rows per transaction; rows changed."""
    changed = 0
    while True:
        with store.transaction():
            cur = store.conn.execute(f"UPDATE {table} SET {assignment} WHERE {key} IN "
                                     f"(SELECT {key} FROM {table} WHERE {where} LIMIT {CHUNK})")
            n = cur.rowcount
        changed += n
        if n < CHUNK:
            return changed


def _replace_phone(store: Store, phone_hash: str) -> int:
    """One phone's records and claim under a fresh placeholder, in one transaction; records changed."""
    placeholder = PLACEHOLDER_PREFIX + secrets.token_hex(16)
    with store.transaction():
        identity_votes.lock_identity(store, f"phone:{phone_hash}")  # as every writer of this phone's votes does
        cur = store.conn.execute("UPDATE records SET phone_hash = ? WHERE phone_hash = ?", (placeholder, phone_hash))
        store.conn.execute("UPDATE claims SET identity = ? WHERE identity = ?",
                           (f"phone:{placeholder}", f"phone:{phone_hash}"))
        return cur.rowcount


def _delete_scans(ws: Workspace, store: Store) -> tuple[int, int, int, list[str]]:
    """(copies deleted, crops deleted, bytes freed, other files left alone)."""
    archived, crops, other = _scan_files(ws, store)
    freed = 0
    for path in (*archived, *crops):
        freed += _size(path)
        path.unlink(missing_ok=True)
    # A copy that is gone (now or by hand) is no longer archived.
    _chunked(store, "inputs", "sha256", "archived IS NOT NULL", "archived = NULL")
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

    for kind, table, key in (("message", "sms_messages", "message_sid"), ("call", "voice_calls", "call_sid")):
        sids = [sid for (sid,) in store.conn.execute(
            f"SELECT {key} FROM {table} WHERE twilio_deleted = 0 ORDER BY {key}").fetchall()]
        for sid in sids:
            before = done[kind]
            if not delete(kind, sid, kind):
                return result()
            if done[kind] > before:
                with store.transaction():
                    store.conn.execute(f"UPDATE {table} SET twilio_deleted = 1 WHERE {key} = ?", (sid,))
    # A reply goes out when its message arrives: the days of the stored messages, and one more.
    first, last = store.conn.execute("SELECT MIN(sent_at), MAX(sent_at) FROM sms_messages").fetchone()
    if first is None:
        return result()
    try:
        replies = eraser.replies(datetime.fromisoformat(first), datetime.fromisoformat(last) + timedelta(days=1))
    except ProviderDeleteFailed as exc:
        failures.append(ProviderFailure("replies", "", exc.why, exc.message))
        return result()
    for sid in replies:
        if not delete("message", sid, "reply"):
            break
    return result()
