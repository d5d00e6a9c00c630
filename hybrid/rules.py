"""The one place that decides what a ballot or message means (DESIGN §7).

Pure functions: readings in, a Decision out. Scanning, the webhook and `merge` all
call these, so a vote is judged the same way wherever it comes from. A reason for
doubt never becomes a guess: it sends the record to a person (RecordState.REVIEW).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from enum import Enum
from zoneinfo import ZoneInfo

from hybrid.definition import Process
from hybrid.states import BallotState, Channel, MarkState, PageState, Reason, RecordState, ReviewAction

BERLIN = ZoneInfo("Europe/Berlin")

# Page-level doubts that send a paper ballot to review (CODE_FROM_OCR only when untrusted).
PAGE_DOUBTS = frozenset({Reason.DOUBTFUL_GEOMETRY, Reason.MARK_OUTSIDE_BOX, Reason.MARGINAL_MARK,
                         Reason.CODE_FROM_OCR})

Choices = Mapping[str, tuple[str, ...]]  # question id (or "budget") → option / investment ids


@dataclass(frozen=True)
class Decision:
    state: RecordState
    reasons: tuple[Reason, ...] = ()
    choices: Choices = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return self.state is RecordState.COUNTED


@dataclass(frozen=True)
class MarkedBox:
    question: str
    option: str
    state: MarkState


@dataclass(frozen=True)
class OcrCodeEvidence:
    """What stands behind a ballot code that Tesseract read from the printed text because
    the QR was lost. Each check is independent of the others (see README, "Trusting a
    code read by OCR")."""

    check_digit: bool  # the 12 digits pass the Verhoeff check
    issued: bool  # the code's keyed hash is that of an issued ballot
    serial_matches: bool  # the serial read from the printed text is that ballot's serial
    layout_matches: bool  # the layout id read from the printed text, and the layout whose boxes
    #                       were found on the page, are that ballot's layout
    geometry_sound: bool  # the page registered without doubt (no doubtful_geometry)


def ocr_code_trusted(evidence: OcrCodeEvidence) -> bool:
    """An OCR-read code counts like a QR only when every check holds; anything less goes to a person."""
    return (evidence.check_digit and evidence.issued and evidence.serial_matches and evidence.layout_matches
            and evidence.geometry_sound)


# -- one scanned page, before its ballot is judged --------------------------------------

@dataclass(frozen=True)
class PageFacts:
    """What the reader saw on one page and what the store knows of its code
    (`paper_records` gathers them; the code itself stays out)."""

    kind: str  # the reader's: ballot | back | letter | blank | foreign | unreadable
    process_id: str | None = None  # as printed in the page's QR (or read by OCR)
    layout_known: bool = False  # the page's layout is one of this process's
    has_code: bool = False
    code_from_ocr: bool = False
    serial: int | None = None  # as read from the page
    ballot_state: BallotState | None = None  # of the printed ballot the code's keyed hash names; None: none
    ballot_serial: int | None = None  # that ballot's serial
    rescan: bool = False  # an identified page of that code and page number has the same mark signature
    reasons: tuple[Reason, ...] = ()  # the reader's doubts, kept on an identified page


_NOT_A_BALLOT_PAGE = {
    "blank": (PageState.SKIPPED, (Reason.BLANK_PAGE,)),
    "back": (PageState.SKIPPED, (Reason.BACK_SIDE,)),
    "letter": (PageState.SKIPPED, (Reason.COVER_LETTER,)),
    "foreign": (PageState.REJECTED, (Reason.NOT_A_BALLOT,)),
    "unreadable": (PageState.UNREADABLE, (Reason.NO_CODE,)),
}


def classify_page(process: Process, facts: PageFacts) -> tuple[PageState, tuple[Reason, ...]]:
    """The page's one state and its reasons. A caller may rely on:
    - the reader's kind decides every page that is not a ballot page (skipped, rejected
      not_a_ballot, unreadable no_code); a ballot page is never UNREADABLE;
    - a REJECTED page has exactly one reason, the first that holds of: another process
      (test_ballot when that process is a test deck and this one is live), a layout not
      of this process or no code (other_process), no printed ballot with the code or,
      for a QR-read code, another serial (unknown_code), a void ballot (void_code);
    - a page already identified with the same marks is DUPLICATE (rescan);
    - every other page is IDENTIFIED with the reader's reasons. A code read by OCR need
      not match the OCR-read serial here (a person then checks it; `ocr_code_trusted`
      decides whether it may count without one)."""
    if facts.kind in _NOT_A_BALLOT_PAGE:
        return _NOT_A_BALLOT_PAGE[facts.kind]
    if facts.process_id != process.id:
        test = facts.process_id is not None and facts.process_id.endswith("-test") and not process.is_test
        return PageState.REJECTED, (Reason.TEST_BALLOT if test else Reason.OTHER_PROCESS,)
    if not facts.layout_known or not facts.has_code:
        return PageState.REJECTED, (Reason.OTHER_PROCESS,)
    if facts.ballot_state is None or (facts.ballot_serial != facts.serial and not facts.code_from_ocr):
        return PageState.REJECTED, (Reason.UNKNOWN_CODE,)
    if facts.ballot_state is BallotState.VOID:
        return PageState.REJECTED, (Reason.VOID_CODE,)
    if facts.rescan:
        return PageState.DUPLICATE, (Reason.RESCAN,)
    return PageState.IDENTIFIED, tuple(facts.reasons)


@dataclass(frozen=True)
class PaperBallot:
    """Everything read so far for one printed ballot (one code), across its pages."""

    pages_expected: int  # pages that carry boxes or a comment (front + continuations)
    pages_present: frozenset[int]
    content_pages: frozenset[int]  # which page numbers must be present
    boxes: tuple[MarkedBox, ...]
    page_reasons: frozenset[Reason] = frozenset()
    photocopy: bool = False
    received: date | None = None
    ocr_code_trusted: bool = False  # every page whose code came from OCR passed `ocr_code_trusted`


def in_window(process: Process, moment: datetime) -> Reason | None:
    """None when `moment` lies in [opens, closes); else the reason (early or late)."""
    if moment < process.opens:
        return Reason.EARLY
    if moment >= process.closes:
        return Reason.LATE
    return None


def paper_window(process: Process, received: date) -> Reason | None:
    """A paper ballot counts when its postal arrival day (Europe/Berlin) starts before `closes`."""
    start_of_day = datetime.combine(received, time(0, 0), tzinfo=BERLIN)
    end_of_day = datetime.combine(received, time(23, 59, 59), tzinfo=BERLIN)
    if end_of_day < process.opens:
        return Reason.EARLY
    if start_of_day >= process.closes:
        return Reason.LATE
    return None


def judge_choices(process: Process, boxes: Iterable[MarkedBox]) -> tuple[dict[str, tuple[str, ...]], set[Reason]]:
    """The choices the marks express, and what makes them doubtful or invalid.

    Marked boxes are choices; cancelled boxes are never choices. A question whose only
    marks are cancelled ones, an overvote, a budget over its limit, or any marginal
    mark is a reason for a person to look.
    """
    marked: dict[str, list[str]] = {}
    cancelled: dict[str, int] = {}
    reasons: set[Reason] = set()
    for box in boxes:
        if box.state is MarkState.MARKED:
            marked.setdefault(box.question, []).append(box.option)
        elif box.state is MarkState.CANCELLED:
            cancelled[box.question] = cancelled.get(box.question, 0) + 1
        elif box.state is MarkState.MARGINAL:
            reasons.add(Reason.MARGINAL_MARK)
    for question in cancelled:
        if not marked.get(question):
            reasons.add(Reason.CANCELLED_ONLY)
    if process.kind == "poll":
        limits = {q.id: q.max_choices for q in process.questions}
        for question, options in marked.items():
            if len(options) > limits.get(question, 0):
                reasons.add(Reason.OVERVOTE)
    else:
        assert process.budget is not None
        budget = process.budget
        chosen = marked.get("budget", [])
        if budget.voting_style == "knapsack":
            prices = {inv.id: inv.price for inv in budget.investments}
            if sum(prices.get(i, 0) for i in chosen) > budget.heading.amount:
                reasons.add(Reason.OVER_BUDGET)
        elif budget.max_lines is not None and len(chosen) > budget.max_lines:
            reasons.add(Reason.OVERVOTE)
    order = {(it.question, it.option): it.number for it in process.items()}
    choices = {q: tuple(sorted(set(opts), key=lambda o: order.get((q, o), 0))) for q, opts in marked.items() if opts}
    return choices, reasons


def decide_paper(process: Process, ballot: PaperBallot) -> Decision:
    """Counted, review or rejected, with every reason named."""
    choices, reasons = judge_choices(process, ballot.boxes)
    reasons |= set(ballot.page_reasons & PAGE_DOUBTS)
    information: tuple[Reason, ...] = ()
    if Reason.CODE_FROM_OCR in reasons and ballot.ocr_code_trusted:
        reasons.discard(Reason.CODE_FROM_OCR)  # as strong as a QR: recorded, not a doubt
        information = (Reason.CODE_FROM_OCR,)
    if ballot.photocopy:
        reasons.add(Reason.PHOTOCOPY)
    if not ballot.content_pages <= ballot.pages_present:
        reasons.add(Reason.MISSING_PAGE)
    if ballot.received is not None:
        outside = paper_window(process, ballot.received)
        if outside is not None:
            return Decision(RecordState.REJECTED, (outside,), choices)
    if reasons:
        return Decision(RecordState.REVIEW, tuple(sorted(reasons, key=lambda r: r.value)), choices)
    if not choices:
        return Decision(RecordState.COUNTED, (Reason.BLANK_BALLOT,) + information, {})
    return Decision(RecordState.COUNTED, information, choices)


# -- every vote of one identity, across channels (DESIGN §7) -----------------------------

PHONE_CHANNELS = frozenset({Channel.SMS, Channel.VOICE})  # a str Enum: "sms" from the store is in it too
_STANDING = (RecordState.COUNTED, RecordState.REVIEW)
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class CastVote:
    """One stored vote of a code (or, under `identity: phone`, of a phone), for `decide_votes`.

    `choices`: what the vote says (paper: as read, or as a reviewer decided).
    `at`: Twilio's time of an SMS or call (the arrival time until Twilio's is known);
    `received`: a paper ballot's postal arrival day. `arrival`: the order in which the
    store took the votes (the record id), which breaks ties.
    `own`: what the vote is on its own, before the other votes of its identity. Paper:
    `decide_paper`'s decision (or a reviewer's). Phone: REJECTED with its reasons when
    its content could not be taken (an overvote, say), otherwise None.
    `void_code`: the code's ballot is void. `hidden_caller`: the number was withheld
    (a placeholder caller ID such as +266696687).
    """

    vote_id: int
    channel: str  # a Channel (or its value, as stored)
    choices: Choices
    at: datetime | None = None
    received: date | None = None
    own: Decision | None = None
    void_code: bool = False
    hidden_caller: bool = False
    arrival: int = 0


def identity_key(process: Process, code_hash: str | None, phone_hash: str | None) -> str | None:
    """What "one vote" is counted by: `code:<hash>` (identity: code) or `phone:<hash>`
    (identity: phone); None when the vote has no such identity (a hidden caller under
    phone identity, a message without a code)."""
    if process.identity == "phone":
        return f"phone:{phone_hash}" if phone_hash else None
    return f"code:{code_hash}" if code_hash else None


def same_choices(a: Choices, b: Choices) -> bool:
    """Equal as votes: order of options and empty questions do not matter."""
    return _canonical(a) == _canonical(b)


def _canonical(choices: Choices) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((q, tuple(sorted(set(opts)))) for q, opts in choices.items() if opts))


def _when(vote: CastVote) -> datetime:
    """Phone votes by Twilio's time; a paper ballot from the start of its arrival day."""
    if vote.channel in PHONE_CHANNELS:
        return vote.at if vote.at is not None else _EARLIEST
    if vote.received is not None:
        return datetime.combine(vote.received, time(0, 0), tzinfo=BERLIN)
    return _EARLIEST


def _order(vote: CastVote) -> tuple[datetime, int, int, int]:
    return (_when(vote), 0 if vote.channel == Channel.PAPER else 1, vote.arrival, vote.vote_id)


def decide_votes(process: Process, votes: Iterable[CastVote]) -> dict[int, Decision]:
    """Decide every vote of one identity (one code; one phone under `identity: phone`),
    from every channel. Pure; the result does not depend on the order of `votes`.

    A caller may rely on:
    - every vote gets a Decision (with its own choices); at most one is COUNTED;
    - a phone vote outside [opens, closes) by `at` is REJECTED (late | early); one for a
      void code REJECTED (void_code); under `identity: phone` a hidden caller's vote is
      REJECTED; a paper ballot keeps a REJECTED own decision (late, early);
    - phone votes whose content was taken stand against each other by time: with
      `conflicts: first` the earliest is COUNTED, with `conflicts: last` the latest
      (the first of its closing run of identical votes); every other one is DUPLICATE
      when it has the same choices as that one, else SUPERSEDED;
    - a standing paper ballot (COUNTED or REVIEW on its own) against the standing phone
      vote: different choices → both REVIEW (cross_channel_conflict); the same choices →
      the earlier is COUNTED and the later DUPLICATE (a paper ballot from the start of its
      arrival day), but a paper ballot in REVIEW stays in review and the phone vote counts;
    - a phone vote whose content could not be taken is SUPERSEDED when another vote of the
      identity stands (COUNTED or REVIEW), else REJECTED with its own reasons.
    """
    decided: dict[int, Decision] = {}
    papers: list[tuple[CastVote, Decision]] = []
    phones: list[CastVote] = []
    unusable: list[CastVote] = []
    for vote in sorted(votes, key=_order):
        choices = dict(vote.choices)
        if vote.channel not in PHONE_CHANNELS:
            own = vote.own or Decision(RecordState.COUNTED, (), choices)
            if vote.void_code:
                decided[vote.vote_id] = Decision(RecordState.REJECTED, (Reason.VOID_CODE,), choices)
            elif own.state in _STANDING:
                papers.append((vote, own))
            else:
                decided[vote.vote_id] = own
            continue
        outside = in_window(process, vote.at) if vote.at is not None else None
        if outside is not None:
            decided[vote.vote_id] = Decision(RecordState.REJECTED, (outside,), choices)
        elif vote.void_code:
            decided[vote.vote_id] = Decision(RecordState.REJECTED, (Reason.VOID_CODE,), choices)
        elif process.identity == "phone" and vote.hidden_caller:
            decided[vote.vote_id] = Decision(RecordState.REJECTED, (), choices)
        elif vote.own is not None and vote.own.state is RecordState.REJECTED:
            unusable.append(vote)
        else:
            phones.append(vote)

    winner = _phone_winner(process, phones)
    for vote in phones:
        if vote is not winner:
            state = RecordState.DUPLICATE if same_choices(vote.choices, winner.choices) else RecordState.SUPERSEDED
            decided[vote.vote_id] = Decision(state, (), dict(vote.choices))

    for index, (paper, own) in enumerate(papers):
        if index > 0:  # a second paper record of one code: the same ballot twice
            decided[paper.vote_id] = Decision(RecordState.REVIEW, _with(own.reasons, Reason.PHOTOCOPY), own.choices)
            continue
        if winner is None:
            decided[paper.vote_id] = own
        elif not same_choices(paper.choices, winner.choices):
            decided[paper.vote_id] = Decision(RecordState.REVIEW, _with(own.reasons, Reason.CROSS_CHANNEL_CONFLICT),
                                              own.choices)
            decided[winner.vote_id] = Decision(RecordState.REVIEW, (Reason.CROSS_CHANNEL_CONFLICT,),
                                               dict(winner.choices))
        elif own.state is RecordState.COUNTED and _order(paper) < _order(winner):
            decided[paper.vote_id] = own
            decided[winner.vote_id] = Decision(RecordState.DUPLICATE, (), dict(winner.choices))
        elif own.state is RecordState.COUNTED:
            decided[paper.vote_id] = Decision(RecordState.DUPLICATE, own.reasons, own.choices)
        else:
            decided[paper.vote_id] = own
    if winner is not None and winner.vote_id not in decided:
        decided[winner.vote_id] = Decision(RecordState.COUNTED, (), dict(winner.choices))

    stands = any(d.state in _STANDING for d in decided.values())
    for vote in unusable:
        assert vote.own is not None
        state = RecordState.SUPERSEDED if stands else RecordState.REJECTED
        decided[vote.vote_id] = Decision(state, vote.own.reasons, dict(vote.choices))
    return decided


def _phone_winner(process: Process, phones: list[CastVote]) -> CastVote | None:
    """The phone vote that stands: the first, or under `conflicts: last` the first of the
    last run of identical votes (sending the same vote again changes nothing)."""
    if not phones:
        return None
    if process.conflicts == "first":
        return phones[0]
    index = len(phones) - 1
    while index > 0 and same_choices(phones[index - 1].choices, phones[-1].choices):
        index -= 1
    return phones[index]


def _with(reasons: Iterable[Reason], extra: Reason) -> tuple[Reason, ...]:
    return tuple(sorted(set(reasons) | {extra}, key=lambda r: r.value))


# -- what stops a phone message or call before the rules weigh it ------------------------


class Refusal(str, Enum):
    """Why an SMS or a call is not taken as a vote, in the order `phone_refusal` tries them."""

    SILENT = "silent"  # Twilio's own keyword or an opt-out: stored, never answered
    PHOTO_ONLY = "photo_only"  # an MMS whose text is no vote: its picture is never read
    LATE = "late"
    EARLY = "early"
    LOCKED_OUT = "locked_out"  # too many wrong codes from this phone in the last hour
    HIDDEN_CALLER = "hidden_caller"  # a withheld number under `identity: phone`


def phone_refusal(process: Process, *, silent: bool = False, photo_only: bool = False,
                  outside: Reason | None = None, locked_out: bool = False, hidden_caller: bool = False,
                  asks_to_vote: bool = True) -> Refusal | None:
    """The first refusal that applies, in `Refusal`'s order; None: the message or call goes on.

    The channels differ only in what they pass:
    - `outside` (`in_window`'s reason): a call is refused at its start; an SMS passes None,
      since it is stored and answered anyway (the rules reject a late vote as late, and a
      late request for help still gets its answer).
    - `asks_to_vote`: a hidden caller is refused only when asking to vote: an SMS with a
      vote or a code attempt in it (one asking for HELP is answered); a call always.
    - `locked_out`: `sms.limits.locked_out` of the phone; a hidden caller has no phone hash
      and is never locked out, so LOCKED_OUT and HIDDEN_CALLER never meet (the voice menu
      once tried them the other way round, with the same result).
    """
    if silent:
        return Refusal.SILENT
    if photo_only:
        return Refusal.PHOTO_ONLY
    if outside is not None:
        return Refusal.LATE if outside is Reason.LATE else Refusal.EARLY
    if locked_out:
        return Refusal.LOCKED_OUT
    if hidden_caller and asks_to_vote and process.identity == "phone":
        return Refusal.HIDDEN_CALLER
    return None


def own_paper_decision(status: RecordState, reasons: Iterable[Reason], choices: Choices) -> Decision:
    """A paper record's decision on its own, from the stored record: its status is
    `decide_paper`'s, except where `decide_votes` set it against another channel
    (REVIEW with cross_channel_conflict; DUPLICATE), which this undoes."""
    reasons = tuple(reasons)
    rest = tuple(r for r in reasons if r is not Reason.CROSS_CHANNEL_CONFLICT)
    if status is RecordState.DUPLICATE or (status is RecordState.REVIEW and len(rest) < len(reasons)):
        if rest and not set(rest) <= {Reason.BLANK_BALLOT}:
            return Decision(RecordState.REVIEW, rest, dict(choices))
        return Decision(RecordState.COUNTED, rest, dict(choices))
    return Decision(status, reasons, dict(choices))


# -- final decisions: what merge, status and `hybrid sms` count (DESIGN §7, §8) ------------------

CONTENT_DOUBTS = frozenset({Reason.OVERVOTE, Reason.OVER_BUDGET})


def invalid_content(vote: CastVote, state: RecordState) -> bool:
    """The machine's "invalid ballot" (CONSUL's nulls, reason invalid_content): a phone vote
    whose final state is REJECTED and whose own content could not be taken (an overvote, a
    budget over its limit). A paper ballot becomes one only by a person ("ballot invalid")."""
    own = vote.own
    return (state is RecordState.REJECTED and vote.channel in PHONE_CHANNELS and own is not None
            and own.state is RecordState.REJECTED and not CONTENT_DOUBTS.isdisjoint(own.reasons))


def one_counted(finals: list[tuple[Decision, bool]]) -> list[Decision]:
    """The final decisions of one identity's records, each with whether a person made it,
    made to count at most once. Pure; same order as `finals`. A caller may rely on:
    - with at most one COUNTED, every decision is returned as it is (the same object);
    - of several COUNTED, the only one a person made stays COUNTED (with two or more made by
      people, or none, none stays); every other steps back, keeping its choices: DUPLICATE
      when they equal those of the one that stays, else REVIEW with cross_channel_conflict;
      its reasons come back sorted (merge's order);
    - decisions that are not COUNTED are returned as they are. Never two, never a guess.
    """
    counted = [i for i, (decision, _) in enumerate(finals) if decision.state is RecordState.COUNTED]
    out = [decision for decision, _ in finals]
    if len(counted) < 2:
        return out
    people = [i for i in counted if finals[i][1]]
    keep = people[0] if len(people) == 1 else None
    for i in counted:
        if i == keep:
            continue
        decision = out[i]
        if keep is not None and same_choices(decision.choices, out[keep].choices):
            out[i] = Decision(RecordState.DUPLICATE, tuple(sorted(set(decision.reasons), key=lambda r: r.value)),
                              decision.choices)
        else:
            out[i] = Decision(RecordState.REVIEW, _with(decision.reasons, Reason.CROSS_CHANNEL_CONFLICT),
                              decision.choices)
    return out


# -- what a person's decision makes of a record (README, "Review") -------------------------------

RECORD_ACTIONS = (ReviewAction.ACCEPT, ReviewAction.MARKS, ReviewAction.INVALID_QUESTION, ReviewAction.INVALID,
                  ReviewAction.REJECT)
COUNTING_ACTIONS = frozenset({ReviewAction.ACCEPT, ReviewAction.MARKS})  # they make a record count: it settles
#                                                                          the other records of its code


@dataclass(frozen=True)
class ReviewedDecision(Decision):
    """A record's decision once a person's decision on it (or on another record of its code) is in force.

    `invalid_ballot` — a valid ballot whose content is invalid (CONSUL's "nulls"): REJECTED, no choices;
    `invalid_questions` — questions a reviewer (or an overvote) made invalid; left out of `choices`.
    """

    invalid_ballot: bool = False
    invalid_questions: tuple[str, ...] = ()


def decide_reviewed(process: Process, machine: Decision, action: ReviewAction | str,
                    marks: Mapping[str, Iterable[str]] | None = None, questions: Iterable[str] = ()
                    ) -> ReviewedDecision:
    """The decision a reviewer's action on a record makes of its machine decision. Pure.

    accept — the choices as read; marks — `marks` for the questions it names, the reading
    for the rest; invalid_question — the reading without `questions`; invalid — a ballot
    with invalid content (REJECTED, `invalid_ballot`, no choices); reject — not a ballot
    that can count (REJECTED). The machine's reasons are kept.
    Choices are judged with `judge_choices`, one question at a time: a question over its
    limit (CONTENT_DOUBTS: overvote, over_budget) is invalid whoever marked it. A ballot
    left with no valid choice but an invalid question is an invalid ballot; one with no
    choice at all is blank (COUNTED, blank_ballot). ValueError for an action that is not
    one on a record."""
    reasons = set(machine.reasons)
    if action == ReviewAction.REJECT:
        return ReviewedDecision(RecordState.REJECTED, _sorted(reasons), {})
    if action == ReviewAction.INVALID:
        return ReviewedDecision(RecordState.REJECTED, _sorted(reasons), {}, invalid_ballot=True)
    choices: dict[str, tuple[str, ...]] = {q: tuple(v) for q, v in machine.choices.items()}
    invalid: set[str] = set()
    if action == ReviewAction.MARKS:
        choices.update({q: tuple(v) for q, v in (marks or {}).items()})
    elif action == ReviewAction.INVALID_QUESTION:
        invalid |= set(questions)
    elif action != ReviewAction.ACCEPT:
        raise ValueError(f"{action!r} is not a decision on a record")
    judged: dict[str, tuple[str, ...]] = {}
    for question, options in choices.items():
        if not options or question in invalid:
            continue
        got, why = judge_choices(process, [MarkedBox(question, option, MarkState.MARKED) for option in options])
        over = why & CONTENT_DOUBTS
        if over:
            invalid.add(question)
            reasons |= over
        else:
            judged.update(got)
    invalid_questions = tuple(sorted(invalid))
    if not judged and invalid:
        return ReviewedDecision(RecordState.REJECTED, _sorted(reasons), {}, invalid_ballot=True,
                                invalid_questions=invalid_questions)
    if not judged:
        return ReviewedDecision(RecordState.COUNTED, _sorted(reasons | {Reason.BLANK_BALLOT}), {})
    return ReviewedDecision(RecordState.COUNTED, _sorted(reasons - {Reason.BLANK_BALLOT}), judged,
                            invalid_questions=invalid_questions)


def settled_by_conflict(machine: Decision) -> Decision:
    """A record of a cross-channel conflict whose other side a person accepted (or marked):
    SUPERSEDED, keeping what was read."""
    return Decision(RecordState.SUPERSEDED, tuple(machine.reasons), dict(machine.choices))


def _sorted(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    return tuple(sorted(set(reasons), key=lambda r: r.value))
