"""What an SMS means: `parse_message(body, process, is_issued) -> Intent` (DESIGN §7).

Pure: no store, no Twilio, no clock. The only outside call is `is_issued(code)`, made at
most once per distinct 12-digit candidate that passes the check digit, and at most
`MAX_CODE_LOOKUPS` times per message; whatever it raises propagates.

A caller may rely on:
- Any `str` gives an Intent, in bounded time: at most the first 4 × `MAX_CHARS`
  characters received are normalised, and only the first `MAX_CHARS` (1,600: Twilio's
  own limit for one concatenated SMS) after normalisation are read; a longer body sets
  `Intent.truncated`, and anything after the cut is ignored.
- Normalisation: NFKC, then format characters (RTL/LTR marks, zero-width spaces, soft
  hyphens) are removed, digits of any script (Arabic-Indic ٤٨٢١ too) become 0-9, and
  case is folded. Letters make words; digits make digit groups; everything else
  (spaces, punctuation, emoji, control characters) only separates.
- Twilio's keywords count only when the WHOLE body, trimmed, is the keyword, in any
  case, as Twilio matches them: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
  OPTOUT, START, YES, UNSTOP → TWILIO_KEYWORD (Twilio answers, we do not); HELP and
  INFO → HELP with `keyword` set (Twilio answers too, and so do we). A lone "YES" is
  never a vote.
- Opt-out in German and English (issue 11): a body whose only words are STOPP, STOP or
  ABMELDEN (any case, any punctuation or spacing, no digits: "Stopp!", " abmelden. ")
  and that is not already a whole-body Twilio keyword → OPT_OUT: not a vote, no reply
  (Twilio's own handling knows only the English keywords without Advanced Opt-Out).
- The code: one 12-digit group, or consecutive digit groups, with no letter between
  them, that make exactly 12 digits ("4821 7730 9510", "482177309510",
  "4821-7730-9510", "48217 730 9510"). Exactly one distinct code among them must pass
  the check digit and be issued; the same code written twice is one code. Otherwise
  NEED_CODE, with `code_problem` saying why.
- Every digit group not used by the code is one printed number, never split ("3 17",
  "3,17", "Nr. 3", "3.17" → 3 and 17; "317" → 317; "03" → 3). The same number twice
  counts once.
- JA/NEIN/YES/NO (any case, any punctuation) choose the yes or the no option of the
  process's only yes/no question (see `yes_no_question`); with none or several such
  questions they are a problem, never a guess.
- Precedence: a whole-body Twilio keyword; then an opt-out; then the word STATUS anywhere (never a
  vote, even with numbers); then, without one issued code, a help word (HILFE, HELP,
  INFO) or a lone "?" → HELP, digits → NEED_CODE, a yes/no word → NEED_CODE(missing),
  nothing → CHATTER; with the code → VOTE, or INVALID with every problem named (a code
  alone is INVALID(no_choices): the reply asks for code and numbers together, since a
  message is read on its own, with no memory of the one before).
- Words that may reverse or blur a choice (nicht, kein, ohne, außer, statt, oder, bis;
  not, none, without, except, instead, or) and dashes between two numbers ("3-5": a
  list or a range?) make the message INVALID rather than guessed. "No" right before a
  number is the abbreviation when written "No. 3", "No:3" or "No3" (and also "No 3"
  when the process has no yes/no question); "No 3" is unclear when it has one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from hybrid.codes import CODE_DIGITS, is_valid_code
from hybrid.definition import BallotItem, Process, Question

MAX_CHARS = 1600  # Twilio's maximum body; more is not a message anyone typed
_MAX_RAW = 4 * MAX_CHARS  # read before NFKC, which may shrink text (composition)
MAX_CODE_LOOKUPS = 32  # more code-like candidates than this: ask for one code

TWILIO_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
TWILIO_OPT_IN = frozenset({"START", "YES", "UNSTOP"})
TWILIO_HELP = frozenset({"HELP", "INFO"})
TWILIO_KEYWORDS = TWILIO_OPT_OUT | TWILIO_OPT_IN | TWILIO_HELP

OPT_OUT_WORDS = frozenset({"stopp", "stop", "abmelden"})  # casefolded
HELP_WORDS = frozenset({"hilfe", "help", "info"})
STATUS_WORD = "status"
YES_WORDS = frozenset({"ja", "yes"})
NO_WORDS = frozenset({"nein", "no"})
# Words that can turn "3 17" into "not 3, 17" or "3 or 17": read as noise they would
# record a vote the sender did not mean. Casefolded ("außer" → "ausser").
UNCLEAR_WORDS = frozenset({
    "nicht", "kein", "keine", "keinen", "keinem", "keiner", "ohne", "ausser", "statt", "anstatt",
    "stattdessen", "oder", "bis", "minus",
    "not", "none", "without", "except", "instead", "or", "nor",
})
_RANGE_MARKS = frozenset({"-", "‐", "‑", "‒", "–", "—", "−", "..", "...", "~"})

_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+")


class IntentKind(str, Enum):
    VOTE = "vote"  # a code and valid choices: the rules decide what becomes of it
    HELP = "help"
    STATUS = "status"  # `code` set, or None: ask for the code
    TWILIO_KEYWORD = "twilio_keyword"  # STOP, START, …: Twilio answers; not a vote
    OPT_OUT = "opt_out"  # STOPP, ABMELDEN, "Stop!": no reply; not a vote
    NEED_CODE = "need_code"  # no issued code, or more than one: `code_problem`
    INVALID = "invalid"  # a code, but choices that cannot be taken: `problems`
    CHATTER = "chatter"  # no digits, no keyword


class CodeProblem(str, Enum):
    MISSING = "missing"  # no 12 digits in a row anywhere
    MISTYPED = "mistyped"  # 12 digits, but the check digit fails (a typo)
    NOT_ISSUED = "not_issued"  # the check digit passes, but no such ballot
    SEVERAL = "several"  # more than one issued code, or no way to tell which digits


class ProblemKind(str, Enum):
    UNCLEAR_WORD = "unclear_word"  # `word`: nicht, oder, …
    RANGE = "range"  # `numbers`: (3, 5) from "3-5"
    YES_NO_NOT_HERE = "yes_no_not_here"  # JA/NEIN, but not exactly one yes/no question
    UNKNOWN_NUMBER = "unknown_number"  # `numbers`: every number not on the ballot
    YES_AND_NO = "yes_and_no"  # both a yes word and a no word
    OVERVOTE = "overvote"  # `question` (or "budget" for approval), `limit`, `total`
    OVER_BUDGET = "over_budget"  # knapsack: `total` price over `limit` (the heading amount)
    NO_CHOICES = "no_choices"  # a code and nothing chosen


@dataclass(frozen=True)
class Problem:
    """One reason an SMS with a valid code cannot be taken as a vote."""

    kind: ProblemKind
    numbers: tuple[int, ...] = ()
    question: str | None = None
    limit: int | None = None
    total: int | None = None
    word: str | None = None


@dataclass(frozen=True)
class Intent:
    """What a message asks for. `choices` and `numbers` are filled for VOTE and, as far
    as they were understood, for INVALID; `code` for VOTE, INVALID and STATUS."""

    kind: IntentKind
    code: str | None = None  # 12 ASCII digits, passes the check digit, issued
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # question → option ids, ballot order
    numbers: tuple[int, ...] = ()  # printed numbers named (yes/no words as their option's number), ascending
    problems: tuple[Problem, ...] = ()  # most fundamental first
    code_problem: CodeProblem | None = None
    keyword: str | None = None  # the Twilio keyword, upper case, when the whole body is one
    truncated: bool = False  # only the first MAX_CHARS characters were read

    @property
    def problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def wrong_code(self) -> bool:
        """A code was tried and failed: what a per-phone limit on wrong codes counts."""
        return self.code_problem in (CodeProblem.MISTYPED, CodeProblem.NOT_ISSUED)


@dataclass(frozen=True)
class YesNo:
    question: str
    yes: str  # option id
    no: str


# -- the process side ------------------------------------------------------------------

_YES_IDS = frozenset({"yes", "ja", "y", "j"})
_NO_IDS = frozenset({"no", "nein", "n"})


def _side(option_id: str, texts: Mapping[str, str]) -> str | None:
    """'yes', 'no' or None for one option, by its id or any of its texts."""
    said = {re.sub(r"[\W_]+", "", t).casefold() for t in texts.values()}
    is_yes = option_id.casefold() in _YES_IDS or bool(said & YES_WORDS)
    is_no = option_id.casefold() in _NO_IDS or bool(said & NO_WORDS)
    if is_yes == is_no:
        return None
    return "yes" if is_yes else "no"


def _as_yes_no(question: Question) -> YesNo | None:
    if len(question.options) != 2:
        return None
    sides = [_side(o.id, o.text) for o in question.options]
    if sorted(s or "" for s in sides) != ["no", "yes"]:
        return None
    yes = question.options[sides.index("yes")].id
    no = question.options[sides.index("no")].id
    return YesNo(question.id, yes, no)


def yes_no_questions(process: Process) -> list[YesNo]:
    """Questions with exactly two options, one yes and one no: an option is "yes" when
    its id is yes/ja/y/j or one of its texts is Ja/Yes (case and punctuation ignored),
    "no" likewise with no/nein/n and Nein/No."""
    return list(_facts(process)[0])


def ballot_items(process: Process) -> tuple[BallotItem, ...]:
    """`process.items()`, worked out once per process (a Process is frozen)."""
    return _facts(process)[1]


def example_numbers(process: Process) -> tuple[int, ...]:
    """`process.example_numbers()`, worked out once per process."""
    return _facts(process)[2]


_FACTS: dict[int, tuple[Process, tuple[YesNo, ...], tuple[BallotItem, ...], tuple[int, ...]]] = {}


def _facts(process: Process) -> tuple[tuple[YesNo, ...], tuple[BallotItem, ...], tuple[int, ...]]:
    """What every message of a process needs again; kept with the process object itself,
    so an id reused by another object is never mistaken for it."""
    hit = _FACTS.get(id(process))
    if hit is None or hit[0] is not process:
        if len(_FACTS) >= 64:
            _FACTS.clear()
        yes_no = tuple(yn for q in process.questions if (yn := _as_yes_no(q)) is not None)
        hit = _FACTS[id(process)] = (process, yes_no, tuple(process.items()), tuple(process.example_numbers()))
    return hit[1], hit[2], hit[3]


def yes_no_question(process: Process) -> YesNo | None:
    """The process's only yes/no question, which JA/NEIN/YES/NO answer; None if it has
    none or several."""
    found = yes_no_questions(process)
    return found[0] if len(found) == 1 else None


# -- reading the text ------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    digits: str
    start: int
    end: int


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int


def normalise(body: str) -> tuple[str, bool]:
    """The text the grammar reads, and whether it was cut to MAX_CHARS."""
    if body.isascii():  # most messages: NFKC, digit values and format characters change nothing
        text = body[:_MAX_RAW].lower()
        return (text[:MAX_CHARS], True) if len(text) > MAX_CHARS else (text, len(body) > _MAX_RAW)
    return _normalise_unicode(body)


def _normalise_unicode(body: str) -> tuple[str, bool]:
    """`normalise` for any text: NFKC, digits of any script as 0-9, format characters dropped."""
    out: list[str] = []
    length = 0
    for ch in unicodedata.normalize("NFKC", body[:_MAX_RAW]):
        if ch.isdecimal():
            piece = str(unicodedata.decimal(ch, 0))
        elif unicodedata.category(ch) == "Cf":
            continue
        else:
            piece = ch.casefold()  # per character: case folding has no context
        out.append(piece)
        length += len(piece)
        if length > MAX_CHARS:
            return "".join(out)[:MAX_CHARS], True
    return "".join(out), len(body) > _MAX_RAW


def _tokens(text: str) -> tuple[list[_Group], list[_Word]]:
    groups: list[_Group] = []
    words: list[_Word] = []
    for m in _TOKEN.finditer(text):
        if m.group()[0].isdigit():
            groups.append(_Group(m.group(), m.start(), m.end()))
        else:
            words.append(_Word(m.group(), m.start(), m.end()))
    return groups, words


def _twilio_keyword(body: str) -> str | None:
    stripped = body.strip()
    upper = stripped.upper()
    return upper if len(stripped) <= 11 and stripped.isascii() and upper in TWILIO_KEYWORDS else None


def _find_code(
    text: str, groups: list[_Group], is_issued: Callable[[str], bool]
) -> tuple[str | None, CodeProblem | None, frozenset[int]]:
    """The one issued code, or why not; and the indexes of the groups it uses."""
    # a letter between two groups ("4821 Nr 7730") keeps them apart
    joins = [not any(ch.isalpha() for ch in text[a.end : b.start]) for a, b in zip(groups, groups[1:])]
    spans: list[tuple[int, int, str]] = []  # first group, last group (inclusive), digits
    for i in range(len(groups)):
        length = 0
        for j in range(i, len(groups)):
            if j > i and not joins[j - 1]:
                break
            length += len(groups[j].digits)
            if length >= CODE_DIGITS:
                if length == CODE_DIGITS:
                    spans.append((i, j, "".join(g.digits for g in groups[i : j + 1])))
                break
    if not spans:  # also: no digits at all
        return None, CodeProblem.MISSING, frozenset()
    checked = sorted({digits for _, _, digits in spans if is_valid_code(digits)})
    if not checked:
        return None, CodeProblem.MISTYPED, frozenset()
    if len(checked) > MAX_CODE_LOOKUPS:
        return None, CodeProblem.SEVERAL, frozenset()
    issued = [digits for digits in checked if is_issued(digits)]
    if not issued:
        return None, CodeProblem.NOT_ISSUED, frozenset()
    if len(issued) > 1:
        return None, CodeProblem.SEVERAL, frozenset()
    code = issued[0]
    used: set[int] = set()
    for first, last, digits in spans:
        if digits == code:
            indexes = set(range(first, last + 1))
            if used & indexes:  # "12 121212121212": which digits are the code?
                return None, CodeProblem.SEVERAL, frozenset()
            used |= indexes
    return code, None, frozenset(used)


def parse_message(body: str, process: Process, is_issued: Callable[[str], bool]) -> Intent:
    """What `body` asks for, for `process`; `is_issued(code)` says whether a 12-digit
    code that passes the check digit belongs to a ballot of this process."""
    body = body or ""
    keyword = _twilio_keyword(body)
    if keyword in TWILIO_HELP:
        return Intent(IntentKind.HELP, keyword=keyword)
    if keyword is not None:
        return Intent(IntentKind.TWILIO_KEYWORD, keyword=keyword)

    text, truncated = normalise(body)
    groups, words = _tokens(text)
    said = {w.text for w in words}
    if not groups and said and said <= OPT_OUT_WORDS:
        return Intent(IntentKind.OPT_OUT, keyword=words[0].text.upper(), truncated=truncated)
    code, code_problem, used = _find_code(text, groups, is_issued)

    if STATUS_WORD in said:
        return Intent(IntentKind.STATUS, code=code, code_problem=code_problem, truncated=truncated)
    if code is None:
        if said & HELP_WORDS or (not groups and not words and set(text.strip()) == {"?"}):
            return Intent(IntentKind.HELP, truncated=truncated)
        if groups:
            return Intent(IntentKind.NEED_CODE, code_problem=code_problem, truncated=truncated)
        if said & (YES_WORDS | NO_WORDS):
            return Intent(IntentKind.NEED_CODE, code_problem=CodeProblem.MISSING, truncated=truncated)
        return Intent(IntentKind.CHATTER, truncated=truncated)

    return _judge(process, code, text, groups, used, words, truncated)


def _judge(
    process: Process, code: str, text: str, groups: list[_Group], used: frozenset[int], words: list[_Word],
    truncated: bool,
) -> Intent:
    """VOTE or INVALID for a message whose code was found; groups not `used` by it are numbers."""
    problems: list[Problem] = []
    yes_no = yes_no_question(process)
    rest = [g for index, g in enumerate(groups) if index not in used]
    rest_starts = {g.start for g in rest}
    code_starts = {groups[index].start for index in used}

    sides: set[str] = set()
    for word in words:
        if word.text in UNCLEAR_WORDS:
            problems.append(Problem(ProblemKind.UNCLEAR_WORD, word=word.text))
        elif word.text in YES_WORDS:
            sides.add("yes")
        elif word.text in NO_WORDS:
            after = re.match(r"([\s.:#]*)(?=[0-9])", text[word.end : word.end + 8])
            before_digits = word.end + after.end() if after else -1
            abbreviated = after is not None and not after.group(1).isspace()  # "No. 3", "No:3", "No3"
            if before_digits in code_starts and abbreviated:
                continue  # "Code No. 4821 7730 9510"
            if before_digits in rest_starts:
                if abbreviated or yes_no is None:
                    continue  # "No. 3", "No3": the abbreviation for number
                problems.append(Problem(ProblemKind.UNCLEAR_WORD, word=word.text))  # "No 3": no, or number 3?
                continue
            sides.add("no")

    for left, right in zip(rest, rest[1:]):
        between = text[left.end : right.start]
        if between.strip() in _RANGE_MARKS:
            problems.append(Problem(ProblemKind.RANGE, numbers=(int(left.digits), int(right.digits))))

    by_number = {it.number: it for it in ballot_items(process)}
    named = sorted({int(g.digits) for g in rest})
    unknown = tuple(n for n in named if n not in by_number)
    chosen = [by_number[n] for n in named if n in by_number]
    picked: set[tuple[str, str]] = {(it.question, it.option) for it in chosen}

    if sides and yes_no is None:
        problems.append(Problem(ProblemKind.YES_NO_NOT_HERE))
    if unknown:
        problems.append(Problem(ProblemKind.UNKNOWN_NUMBER, numbers=unknown))
    if yes_no is not None:
        if sides == {"yes", "no"}:
            problems.append(Problem(ProblemKind.YES_AND_NO))
        for side in sides:
            picked.add((yes_no.question, yes_no.yes if side == "yes" else yes_no.no))

    order = {(it.question, it.option): it for it in by_number.values()}
    choices: dict[str, tuple[str, ...]] = {}
    question_ids = [q.id for q in process.questions] if process.kind == "poll" else ["budget"]
    for question in question_ids:
        options = sorted((o for q, o in picked if q == question), key=lambda o: order[(question, o)].number)
        if options:
            choices[question] = tuple(options)
    numbers = tuple(sorted({order[p].number for p in picked} | set(unknown)))

    problems.extend(_rule_problems(process, choices, order))
    problems = list(dict.fromkeys(problems))  # "nicht … nicht" is one problem
    if not picked and not unknown and not problems:
        problems.append(Problem(ProblemKind.NO_CHOICES))
    kind = IntentKind.INVALID if problems else IntentKind.VOTE
    return Intent(kind, code=code, choices=choices, numbers=numbers, problems=tuple(problems), truncated=truncated)


def _rule_problems(
    process: Process, choices: Mapping[str, tuple[str, ...]], order: Mapping[tuple[str, str], BallotItem]
) -> list[Problem]:
    """Overvotes and budget limits, the same rules `hybrid.rules` applies to paper."""
    problems: list[Problem] = []
    if process.kind == "poll":
        for q in process.questions:
            count = len(choices.get(q.id, ()))
            if count > q.max_choices:
                problems.append(Problem(ProblemKind.OVERVOTE, question=q.id, limit=q.max_choices, total=count))
        return problems
    assert process.budget is not None
    budget = process.budget
    chosen = choices.get("budget", ())
    if budget.voting_style == "knapsack":
        total = sum(order[("budget", i)].price or 0 for i in chosen)
        if total > budget.heading.amount:
            problems.append(Problem(ProblemKind.OVER_BUDGET, limit=budget.heading.amount, total=total))
    elif budget.max_lines is not None and len(chosen) > budget.max_lines:
        problems.append(Problem(ProblemKind.OVERVOTE, question="budget", limit=budget.max_lines, total=len(chosen)))
    return problems
