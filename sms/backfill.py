"""Recovering messages the webhook missed, and Twilio's own timestamps (DESIGN §7).

Twilio does not resend an inbound webhook that failed. `pull_messages` lists the inbound
messages to the process's number through twilio's REST client (Messages list, by
`DateSent`); `import_csv` reads the CSV the Twilio console exports from its messaging
logs. Both hand every inbound message to `SmsService.backfill`, the same path the
webhook uses (no reply is sent): messages not stored yet are stored and decided
(via `pull` / `import`), stored ones get Twilio's time in place of their arrival time,
and the rest are left alone. Re-running either is harmless.

A caller may rely on: only inbound messages to our number (and, when known, our
account) are taken; everything else is counted as skipped, by why. A CSV file with a
row that cannot be read is refused as a whole, naming its line, before anything is
stored. Twilio's API refusing the credentials is `InvalidInput`; Twilio out of reach
is `ToolMissing` (exit 4); either way what was stored so far stays stored.
"""

from __future__ import annotations

import csv
import email.utils
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hybrid.errors import InvalidInput, ToolMissing
from hybrid.states import RecordState
from sms.caller import e164
from sms.service import InboundSms, SmsService
from sms.twilio_config import TwilioConfig

log = logging.getLogger("hybrid.sms")

INBOUND = frozenset({"inbound", "incoming", "received", "in"})
PAGE_SIZE = 1000  # Twilio's maximum for the Messages list

# Header spellings seen in Twilio console exports (SentDate, Sid, …) and in hand-made files;
# compared in lower case without spaces, dashes or underscores.
_COLUMNS = {
    "sid": ("sid", "messagesid", "smssid", "smsmessagesid"),
    "from": ("from", "fromnumber", "sender"),
    "to": ("to", "tonumber", "recipient"),
    "body": ("body", "message", "text", "messagebody"),
    "sent": ("sentdate", "datesent", "sentat", "date", "datecreated", "createddate", "timestamp"),
    "direction": ("direction",),
    "account": ("accountsid", "account"),
    "segments": ("numsegments", "segments"),
    "media": ("nummedia", "media"),
}
_REQUIRED = ("sid", "from", "body", "sent")


@dataclass
class BackfillReport:
    source: str
    seen: int = 0
    stored: int = 0
    retimed: int = 0
    already: int = 0
    skipped: Counter = field(default_factory=Counter)  # why → messages
    statuses: Counter = field(default_factory=Counter)  # RecordState of the newly stored
    outcomes: Counter = field(default_factory=Counter)

    @property
    def needs_person(self) -> bool:
        return bool(self.statuses.get(RecordState.REVIEW))

    def take(self, what: str, status: RecordState, outcome: str) -> None:
        if what == "stored":
            self.stored += 1
            self.statuses[status] += 1
            self.outcomes[outcome] += 1
        elif what == "retimed":
            self.retimed += 1
        else:
            self.already += 1


# -- Twilio's REST API -------------------------------------------------------------------


def pull_messages(service: SmsService, config: TwilioConfig, since: datetime, until: datetime,
                  client=None) -> BackfillReport:
    """Every inbound message to our number with Twilio's DateSent in [since, until)."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    report = BackfillReport(f"Twilio API, {_show(since)} to {_show(until)}")
    if client is None:
        client = twilio_client(config)
    messages = client.api.v2010.account.messages
    # Twilio filters DateSent by day; the exact range is applied here.
    day_after = since.astimezone(timezone.utc).strftime("%Y-%m-%d")
    day_before = until.astimezone(timezone.utc).strftime("%Y-%m-%d")  # "on or before" that day
    listed: list[InboundSms] = []
    try:
        for message in messages.stream(to=config.sms_number, date_sent_after=day_after, date_sent_before=day_before,
                                       page_size=PAGE_SIZE):
            report.seen += 1
            sent = message.date_sent or message.date_created
            why = _skip(config, message.direction, message.to, message.account_sid)
            if why is None and (not isinstance(sent, datetime) or not since <= sent < until):
                why = "outside the time range"
            if why is not None:
                report.skipped[why] += 1
                continue
            listed.append(InboundSms(
                message_sid=message.sid, account_sid=config.account_sid, body=message.body or "",
                sender=message.from_ or "", num_segments=_int(message.num_segments),
                num_media=_int(message.num_media) or 0, sent_at=sent,
            ))
    except (TwilioException, OSError) as exc:  # requests' errors are OSErrors
        # A failed page comes as TwilioException("Unable to fetch page", response).
        status = exc.status if isinstance(exc, TwilioRestException) else getattr(
            exc.args[1] if len(exc.args) > 1 else None, "status_code", None)
        if status in (401, 403):
            raise InvalidInput(f"Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (HTTP {status}); "
                               "nothing was stored") from None
        what = f"answered HTTP {status}" if status else f"could not be reached ({type(exc).__name__})"
        raise ToolMissing(f"Twilio's API {what}; nothing was stored; run `hybrid sms pull` again") from None
    _take_in_order(service, listed, "pull", report)
    return report


def _take_in_order(service: SmsService, messages: list[InboundSms], via: str, report: BackfillReport) -> None:
    """Oldest first (Twilio lists newest first), so every vote is decided against the
    votes sent before it, with Twilio's times already in place."""
    for message in sorted(messages, key=lambda m: (m.sent_at, m.message_sid)):
        what, handled = service.backfill(message, via)
        report.take(what, handled.status, handled.outcome.value)


def twilio_client(config: TwilioConfig):
    """twilio's REST client for our account (HYBRID_TWILIO_API_URL, when set, replaces api.twilio.com)."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(config.account_sid, config.auth_token, http_client=TwilioHttpClient(timeout=30))
    if config.api_url:
        client.api.base_url = config.api_url
    return client


def _skip(config: TwilioConfig, direction: str | None, to: str | None, account_sid: str | None) -> str | None:
    if (direction or "").strip().lower() not in INBOUND:
        return "not inbound"
    if e164(to) != config.sms_number:
        return "to another number"
    if config.account_sid and account_sid and account_sid != config.account_sid:
        return "another account"
    return None


# -- the console's CSV export ------------------------------------------------------------


@dataclass(frozen=True)
class CsvRow:
    line: int
    sid: str
    sender: str
    to: str | None
    body: str
    sent: datetime
    direction: str | None
    account_sid: str | None
    segments: int | None
    media: int | None


def import_csv(service: SmsService, path: Path, config: TwilioConfig) -> BackfillReport:
    """The inbound messages of a Twilio console CSV export (`config.account_sid` may be empty)."""
    rows = list(read_csv(path))
    report = BackfillReport(str(path))
    taken: list[InboundSms] = []
    for row in rows:
        report.seen += 1
        why = _skip(config, row.direction if row.direction is not None else "inbound", row.to or config.sms_number,
                    row.account_sid)
        if why is not None:
            report.skipped[why] += 1
            continue
        taken.append(InboundSms(
            message_sid=row.sid, account_sid=config.account_sid or row.account_sid or "unknown", body=row.body,
            sender=row.sender, num_segments=row.segments, num_media=row.media or 0, sent_at=row.sent,
        ))
    _take_in_order(service, taken, "import", report)
    return report


def read_csv(path: Path) -> Iterator[CsvRow]:
    """The rows of a console export; InvalidInput naming file:line for anything unreadable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text; export the messages again as CSV from the Twilio console") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise InvalidInput(f"{path}:1: not CSV ({exc})") from None
    columns = _map_header(path, header)
    rows: list[CsvRow] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            rows.append(_row(path, reader.line_num, columns, cells))
    except csv.Error as exc:
        raise InvalidInput(f"{path}:{reader.line_num}: not CSV ({exc})") from None
    yield from rows


def _map_header(path: Path, header: list[str]) -> dict[str, int]:
    names = [re.sub(r"[\s_\-]", "", h).lower() for h in header]
    columns: dict[str, int] = {}
    for key, spellings in _COLUMNS.items():
        for spelling in spellings:
            if spelling in names:
                columns[key] = names.index(spelling)
                break
    missing = [key for key in _REQUIRED if key not in columns]
    if missing:
        wanted = {"sid": "Sid", "from": "From", "body": "Body", "sent": "SentDate"}
        raise InvalidInput(f"{path}:1: no {', '.join(wanted[m] for m in missing)} column; expected Twilio's "
                           "export header (From, To, Body, Status, SentDate, …, Sid, Direction, …)")
    return columns


def _row(path: Path, line: int, columns: dict[str, int], cells: list[str]) -> CsvRow:
    def cell(key: str) -> str | None:
        index = columns.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else None

    sid = cell("sid") or ""
    if not re.fullmatch(r"[A-Za-z0-9]{10,64}", sid):
        raise InvalidInput(f"{path}:{line}: Sid {sid!r} is not a message SID (SM…)")
    sent_text = cell("sent") or ""
    sent = parse_time(sent_text)
    if sent is None:
        raise InvalidInput(f"{path}:{line}: SentDate {sent_text!r} is not a date and time")
    index = columns["body"]
    body = cells[index] if index < len(cells) else ""
    return CsvRow(line, sid, cell("from") or "", cell("to"), body, sent, cell("direction"), cell("account") or None,
                  _int(cell("segments")), _int(cell("media")))


def parse_time(text: str) -> datetime | None:
    """ISO 8601 or RFC 2822 (Twilio's API), or a few console spellings; UTC when no offset is given."""
    text = text.strip()
    if not text:
        return None
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            for pattern in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                            "%Y-%m-%d %H:%M:%S %Z"):
                try:
                    moment = datetime.strptime(text, pattern)
                    break
                except ValueError:
                    continue
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _show(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def summary_rows(report: BackfillReport) -> Iterable[tuple[str, str]]:
    yield "messages listed", str(report.seen)
    yield "stored now (no reply sent)", str(report.stored)
    yield "already stored, Twilio's time added", str(report.retimed)
    yield "already stored", str(report.already)
    for why, count in sorted(report.skipped.items()):
        yield f"skipped: {why}", str(count)
