"""The phone menu as a pure state machine: a call's state and the keys pressed in, the
next state and what to say out (DESIGN §7). No store, no Twilio, no clock.

A call goes: greeting (9 switches German ↔ English) → the 12-digit code (three tries per
call) → each question in ballot order, every option read with its printed number → the
choices read back → 1 confirms, 2 changes. `*` repeats, `0` helps, in every step.

A caller (the voice service) may rely on:
- `begin` greets and asks for the code; `refuse` ends a call before it starts (closed,
  not open yet, hidden caller under phone identity, locked out); `advance` takes one
  Gather result; `repeat` says the current step again without changing it; `finish`
  says how a confirmed vote ended; `trouble` apologises for a store that failed. Each
  returns a `Turn`.
- A Turn that listens (`listen` is not None) carries a state whose `seq` is new; the
  Gather's action must name that `seq`, and a callback naming an older one gets
  `repeat` (a retried or overtaken callback never advances the call twice).
- A Turn with `listen` None ends the call after `say`; its state is ENDED and `outcome`
  names why, except for `confirm`: then the service casts the vote in `state.choices`
  (the code it accepted earlier is the vote's code) and says `finish(…)`.
- `code` is set once, on the Turn that accepts an issued code (memory only: store its
  hash); `wrong_code` is set for a 12-digit entry that fails the check digit or is not
  issued (what the wrong-code limits count). A wrong length, a void code, `9`, `*`, `0`
  are no wrong codes; a wrong length and a void code use up one of the three tries.
- Choices never break the rules: each option is added only when `rules.judge_choices`
  finds nothing against the choices with it (no overvote, nothing over the budget).
  Pressing a chosen option of a multi-choice question (or budget) again removes it;
  `#` alone keeps what is chosen and goes on (or skips the question).
- Three prompts in a row without any key end the call (NO_INPUT); nothing is cast.
- The state is plain JSON (`to_json` / `from_json`); it never holds the code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum

from hybrid import rules
from hybrid.codes import CODE_DIGITS, is_valid_code
from hybrid.definition import BallotItem, Process
from hybrid.states import MarkState, Reason
from sms.voice_texts import VOICES, Words, other_language, voice_language

MAX_TRIES = 3  # code entries per call
MAX_SILENCES = 3  # prompts in a row without any key
CODE_TIMEOUT = 10  # seconds Twilio waits for (the next) key
CHOICE_TIMEOUT = 8
SWITCH_KEY = "9"


class Step(str, Enum):
    CODE = "code"
    QUESTION = "question"
    CONFIRM = "confirm"
    ENDED = "ended"


class CallOutcome(str, Enum):
    """How a call ended; the values shared with `sms.replies.Outcome` are the same words."""

    RECEIVED = "received"
    REPLACED = "replaced"
    DUPLICATE = "duplicate"
    ALREADY_VOTED = "already_voted"
    IN_REVIEW = "in_review"
    VOID_CODE = "void_code"
    CLOSED = "closed"
    NOT_OPEN = "not_open"
    NOT_TAKEN = "not_taken"  # the rules rejected the vote for another reason
    LOCKED_OUT = "locked_out"
    HIDDEN_CALLER = "hidden_caller"
    TOO_MANY_TRIES = "too_many_tries"
    NO_INPUT = "no_input"
    HUNG_UP = "hung_up"  # Twilio's status callback: the call ended before a vote was confirmed


class EntryKind(Enum):
    SILENCE = "silence"  # the Gather timed out without a key
    DONE = "done"  # `#` alone
    REPEAT = "repeat"  # `*` (anywhere in the entry)
    HELP = "help"  # `0` alone
    NUMBER = "number"  # digits


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    digits: str = ""


def read_entry(digits: str | None, finished_on_key: str | None) -> Entry:
    """What a Gather callback's `Digits` and `FinishedOnKey` mean. Without digits, `#`
    pressed is DONE and anything else (a timeout, a Redirect after the Gather) SILENCE."""
    digits = (digits or "").strip()
    if "*" in digits:
        return Entry(EntryKind.REPEAT)
    digits = digits.replace("#", "")
    if not digits:
        return Entry(EntryKind.DONE) if (finished_on_key or "").strip() == "#" else Entry(EntryKind.SILENCE)
    if not (digits.isascii() and digits.isdigit()):
        return Entry(EntryKind.SILENCE)
    if digits == "0":
        return Entry(EntryKind.HELP)
    return Entry(EntryKind.NUMBER, digits)


class CodeStatus(str, Enum):
    ISSUED = "issued"
    VOID = "void"
    UNKNOWN = "unknown"  # passes the check digit, but no ballot of this process has it


@dataclass(frozen=True)
class CodeCheck:
    """What the store says about a code that passes the check digit."""

    status: CodeStatus
    language: str | None = None  # the language of its ballot
    already_received: bool = False  # a vote of its identity stands (counted or in review)


@dataclass(frozen=True)
class CallState:
    step: Step = Step.CODE
    lang: str = "de"
    lang_chosen: bool = False  # the caller pressed 9: keep that language
    seq: int = 1
    tries: int = 0
    silences: int = 0
    question: int = 0  # index into `parts(process)`
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()  # question → option ids, in printed order

    def chosen(self, question: str) -> tuple[str, ...]:
        return dict(self.choices).get(question, ())

    def vote(self) -> dict[str, tuple[str, ...]]:
        """The choices as a vote: questions with at least one option."""
        return {q: opts for q, opts in self.choices if opts}

    def to_json(self) -> str:
        return json.dumps({"step": self.step.value, "lang": self.lang, "lang_chosen": self.lang_chosen,
                           "seq": self.seq, "tries": self.tries, "silences": self.silences,
                           "question": self.question, "choices": {q: list(o) for q, o in self.choices}},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CallState:
        data = json.loads(text)
        return cls(Step(data["step"]), data["lang"], bool(data["lang_chosen"]), int(data["seq"]), int(data["tries"]),
                   int(data["silences"]), int(data["question"]),
                   tuple((q, tuple(o)) for q, o in sorted(data["choices"].items())))


@dataclass(frozen=True)
class Line:
    """One sentence, in the language (and so the voice) it is spoken in."""

    text: str
    lang: str


@dataclass(frozen=True)
class Listen:
    """A Gather: DTMF, finished by `#` or after `timeout` seconds; `single_key`: 1 digit ends it."""

    timeout: int
    single_key: bool = False


@dataclass(frozen=True)
class Turn:
    state: CallState
    say: tuple[Line, ...]
    listen: Listen | None
    code: str | None = None
    wrong_code: bool = False
    confirm: bool = False
    outcome: CallOutcome | None = None


@dataclass(frozen=True)
class Part:
    """One step of choosing: a poll question, or the whole budget."""

    question: str  # question id, or "budget"
    text: Mapping[str, str] | None  # the question's text; None for the budget
    items: tuple[BallotItem, ...] = field(default=())
    many: bool = False  # more than one option may be chosen


def parts(process: Process) -> tuple[Part, ...]:
    """The questions in ballot order (one part for a budget), with their printed items."""
    items = process.items()
    if process.kind == "budget":
        return (Part("budget", None, tuple(items), True),)
    return tuple(Part(q.id, q.text, tuple(it for it in items if it.question == q.id), q.max_choices > 1)
                 for q in process.questions)


# -- entry points --------------------------------------------------------------------------


def begin(process: Process) -> Turn:
    """A new call: the greeting in the process's first language we speak, and the code."""
    state = CallState(lang=voice_language(process, process.languages[0]))
    return _listen(state, _code_prompt(process, state, greet=True), CODE_TIMEOUT)


def refuse(process: Process, outcome: CallOutcome, state: CallState | None = None) -> Turn:
    """End a call that may not vote now: CLOSED, NOT_OPEN, HIDDEN_CALLER, LOCKED_OUT
    (in the language of `state`, or for a new call the greeting's)."""
    state = state or CallState(lang=voice_language(process, process.languages[0]))
    w = Words(state.lang)
    if outcome is CallOutcome.CLOSED:
        last_day = process.closes - timedelta(microseconds=1)
        texts = [w["closed_day"].format(day=w.day(last_day))]
    elif outcome is CallOutcome.NOT_OPEN:
        texts = [w["not_open_day"].format(day=w.day(process.opens))]
    elif outcome is CallOutcome.LOCKED_OUT:
        texts = [w["locked_out"]] + ([w["by_post"]] if process.channels.paper else [])
    else:
        texts = [w[outcome.value]]
    return _end(state, texts, outcome)


def advance(process: Process, state: CallState, entry: Entry, check_code: Callable[[str], CodeCheck]) -> Turn:
    """The next turn after `entry` in `state`; `check_code` is asked only for a 12-digit
    code that passes the check digit."""
    if state.step is Step.ENDED:
        return Turn(state, (), None)
    if entry.kind is EntryKind.SILENCE:
        return _silence(process, state)
    state = replace(state, silences=0)
    if entry.kind is EntryKind.REPEAT:
        return _listen(state, _prompt(process, state), _timeout(state), single_key=state.step is Step.CONFIRM)
    if state.step is Step.CODE:
        return _code_step(process, state, entry, check_code)
    if state.step is Step.QUESTION:
        return _question_step(process, state, entry)
    return _confirm_step(process, state, entry)


def repeat(process: Process, state: CallState) -> Turn:
    """The current step said again, the state unchanged (for a callback that came too late)."""
    if state.step is Step.ENDED:
        return Turn(state, (), None)
    return Turn(state, _prompt(process, state), Listen(_timeout(state), state.step is Step.CONFIRM))


def finish(process: Process, state: CallState, outcome: CallOutcome) -> Turn:
    """The end of a call whose vote was cast and decided as `outcome`."""
    w = Words(state.lang)
    return _end(state, [w[outcome.value]], outcome)


def trouble(process: Process) -> Turn:
    """An apology that ends the call when the store cannot take the step (no outcome)."""
    state = CallState(step=Step.ENDED, lang=voice_language(process, process.languages[0]))
    w = Words(state.lang)
    return Turn(state, _lines(state, w["trouble"], w["goodbye"]), None)


# -- the steps ----------------------------------------------------------------------------


def _code_step(process: Process, state: CallState, entry: Entry, check_code: Callable[[str], CodeCheck]) -> Turn:
    w = Words(state.lang)
    if entry.kind is EntryKind.HELP:
        return _listen(state, _lines(state, w["help_code"], w["keys"]), CODE_TIMEOUT)
    if entry.kind is EntryKind.DONE:
        return _listen(state, _lines(state, w["ask_code"], w["keys"]), CODE_TIMEOUT)
    digits = entry.digits
    other = other_language(process, state.lang)
    if digits == SWITCH_KEY and other is not None:
        switched = replace(state, lang=other, lang_chosen=True)
        return _listen(switched, _code_prompt(process, switched, greet=True), CODE_TIMEOUT)
    if len(digits) != CODE_DIGITS:
        return _code_failed(process, state, w["code_length"].format(count=w.count_digits(len(digits))))
    if not is_valid_code(digits):
        return _code_failed(process, state, w["code_wrong"], wrong_code=True)
    check = check_code(digits)
    if check.status is CodeStatus.UNKNOWN:
        return _code_failed(process, state, w["code_wrong"], wrong_code=True)
    if check.status is CodeStatus.VOID:
        return _code_failed(process, state, w["code_void"])
    lang = state.lang
    if not state.lang_chosen and check.language in VOICES and check.language in process.languages:
        lang = check.language  # the caller did not choose: speak the language of the ballot
    accepted = replace(state, step=Step.QUESTION, question=0, lang=lang)
    w = Words(lang)
    said = _lines(accepted, w["code_ok"])
    if check.already_received:
        said += _lines(accepted, w["already_phone" if process.identity == "phone" else "already_code"])
    turn = _listen(accepted, said + _question_prompt(process, accepted), CHOICE_TIMEOUT)
    return replace(turn, code=digits)


def _code_failed(process: Process, state: CallState, why: str, *, wrong_code: bool = False) -> Turn:
    w = Words(state.lang)
    state = replace(state, tries=state.tries + 1)
    if state.tries >= MAX_TRIES:
        texts = [why, w["too_many_tries"]] + ([w["by_post"]] if process.channels.paper else [])
        return replace(_end(state, texts, CallOutcome.TOO_MANY_TRIES), wrong_code=wrong_code)
    return replace(_listen(state, _lines(state, why, w["code_again"], w["keys"]), CODE_TIMEOUT), wrong_code=wrong_code)


def _question_step(process: Process, state: CallState, entry: Entry) -> Turn:
    w = Words(state.lang)
    part = parts(process)[state.question]
    chosen = state.chosen(part.question)
    if entry.kind is EntryKind.HELP:
        texts = [w["help_choose"]] + ([w["help_remove"]] if part.many else []) + [w["done_hint"], w["help_repeat"]]
        return _listen(state, _lines(state, *texts), CHOICE_TIMEOUT)
    if entry.kind is EntryKind.DONE:
        said = () if chosen or part.question == "budget" else _lines(state, w["skipped"])
        return _next_part(process, state, said)
    number = int(entry.digits)
    item = next((it for it in part.items if it.number == number), None)
    if item is None:
        elsewhere = any(it.number == number for it in process.items())
        why = w["not_here" if elsewhere else "no_such"].format(number=number, first=part.items[0].number,
                                                               last=part.items[-1].number)
        return _listen(state, _lines(state, why, w["press_number"]), CHOICE_TIMEOUT)
    text = process.text(item.text, state.lang)
    if not part.many:
        picked = _with_choice(state, part.question, (item.option,))
        return _next_part(process, picked, _lines(picked, w["chosen"].format(number=number, text=text)))
    if item.option in chosen:
        removed = _with_choice(state, part.question, tuple(o for o in chosen if o != item.option))
        said = [w["unchosen"].format(number=number)] + _left(process, removed, part, w) + [w["next"]]
        return _listen(removed, _lines(removed, *said), CHOICE_TIMEOUT)
    reasons = _rule_reasons(process, state, part, chosen + (item.option,))
    if Reason.OVER_BUDGET in reasons:
        why = w["too_expensive"].format(number=number, price=w.money(item.price or 0),
                                        left=w.money(_money_left(process, state)))
        return _listen(state, _lines(state, why, w["done_hint"]), CHOICE_TIMEOUT)
    if reasons:
        why = w["full_refused"].format(k=len(chosen))
        return _listen(state, _lines(state, why, w["done_hint"]), CHOICE_TIMEOUT)
    added = _with_choice(state, part.question, _in_order(part, chosen + (item.option,)))
    if item.price is not None and _knapsack(process):
        label = w["chosen_priced"].format(number=number, text=text, price=w.money(item.price))
    else:
        label = w["chosen"].format(number=number, text=text)
    said = [label] + _left(process, added, part, w)
    if _full(process, added, part):
        said.append(w["budget_spent" if _knapsack(process) else "full"])
        return _next_part(process, added, _lines(added, *said))
    return _listen(added, _lines(added, *said, w["next"]), CHOICE_TIMEOUT)


def _confirm_step(process: Process, state: CallState, entry: Entry) -> Turn:
    w = Words(state.lang)
    if entry.kind is EntryKind.HELP:
        return _listen(state, _lines(state, w["confirm_help"]), CHOICE_TIMEOUT, single_key=True)
    if entry.digits == "1" and state.vote():
        return Turn(state, (), None, confirm=True)
    if entry.digits == "2":
        again = replace(state, step=Step.QUESTION, question=0)
        return _listen(again, _lines(again, w["change"]) + _question_prompt(process, again), CHOICE_TIMEOUT)
    last = w["confirm"] if state.vote() else w["nothing_chosen"]
    return _listen(state, _lines(state, w["press_1_or_2"], last), CHOICE_TIMEOUT, single_key=True)


def _silence(process: Process, state: CallState) -> Turn:
    state = replace(state, silences=state.silences + 1)
    w = Words(state.lang)
    if state.silences >= MAX_SILENCES:
        return _end(state, [w["silence"], w["no_input"]], CallOutcome.NO_INPUT)
    if state.step is Step.CODE:
        texts = [w["silence"], w["ask_code"], w["keys"]]
    elif state.step is Step.QUESTION:
        many = parts(process)[state.question].many
        texts = [w["silence"], w["press_number"]] + ([w["done_hint"]] if many else []) + [w["keys"]]
    else:
        texts = [w["silence"], w["confirm"] if state.vote() else w["nothing_chosen"]]
    return _listen(state, _lines(state, *texts), _timeout(state), single_key=state.step is Step.CONFIRM)


def _next_part(process: Process, state: CallState, said: tuple[Line, ...]) -> Turn:
    if state.question + 1 < len(parts(process)):
        following = replace(state, question=state.question + 1)
        return _listen(following, said + _question_prompt(process, following), CHOICE_TIMEOUT)
    checking = replace(state, step=Step.CONFIRM)
    return _listen(checking, said + _confirm_prompt(process, checking), CHOICE_TIMEOUT, single_key=True)


# -- what each step says -------------------------------------------------------------------


def _prompt(process: Process, state: CallState) -> tuple[Line, ...]:
    if state.step is Step.CODE:
        return _code_prompt(process, state, greet=False)
    if state.step is Step.QUESTION:
        return _question_prompt(process, state)
    return _confirm_prompt(process, state)


def _code_prompt(process: Process, state: CallState, *, greet: bool) -> tuple[Line, ...]:
    w = Words(state.lang)
    said: list[Line] = []
    if greet:
        said.append(Line(w["welcome"].format(title=_sentence(process.text(process.title, state.lang))), state.lang))
    other = other_language(process, state.lang)
    if other is not None:
        said.append(Line(Words(other)["switch"], other))
    return tuple(said) + _lines(state, w["ask_code"], w["keys"])


def _question_prompt(process: Process, state: CallState) -> tuple[Line, ...]:
    w = Words(state.lang)
    all_parts = parts(process)
    part = all_parts[state.question]
    texts: list[str] = []
    if part.text is None:
        assert process.budget is not None
        title = _sentence(process.text(process.title, state.lang)).rstrip(".")
        if _knapsack(process):
            texts.append(w["budget_intro"].format(title=title, amount=w.money(process.budget.heading.amount)))
        else:
            texts.append(w["approval_intro"].format(title=title, k=process.budget.max_lines))
    else:
        question = process.text(part.text, state.lang)
        texts.append(w["question"].format(n=state.question + 1, total=len(all_parts), text=question)
                     if len(all_parts) > 1 else w["only_question"].format(text=question))
        limit = next(q.max_choices for q in process.questions if q.id == part.question)
        texts.append(w["choose_one"] if limit == 1 else w["choose_up_to"].format(k=limit))
    texts.append(w["how_to_choose"])
    for it in part.items:
        text = process.text(it.text, state.lang)
        if it.price is not None and _knapsack(process):
            texts.append(w["option_priced"].format(number=it.number, text=text, price=w.money(it.price)))
        else:
            texts.append(w["option"].format(number=it.number, text=text))
    chosen = state.chosen(part.question)
    if chosen:
        texts.append(w["so_far"].format(list=_listed(process, part, chosen, w)))
        texts += _left(process, state, part, w) + [w["help_remove"], w["done_hint"]] if part.many else [w["keep_hint"]]
    else:
        texts.append(w["done_hint"] if part.question == "budget" else w["skip_hint"])
    texts.append(w["keys"])
    return _lines(state, *texts)


def _confirm_prompt(process: Process, state: CallState) -> tuple[Line, ...]:
    w = Words(state.lang)
    if not state.vote():
        return _lines(state, w["nothing_chosen"])
    texts = [w["check"]]
    for n, part in enumerate(parts(process), start=1):
        chosen = state.chosen(part.question)
        if part.question == "budget":  # one sentence per proposal: the list may be long
            texts += [_listed(process, part, (option,), w) + "." for option in chosen]
            if _knapsack(process):
                spent = sum(it.price or 0 for it in part.items if it.option in chosen)
                texts.append(w["check_total"].format(amount=w.money(spent)))
        elif chosen:
            texts.append(w["check_question"].format(n=n, list=_listed(process, part, chosen, w)))
        else:
            texts.append(w["check_question_none"].format(n=n))
    texts.append(w["confirm"])
    return _lines(state, *texts)


# -- small pieces -------------------------------------------------------------------------


def _rule_reasons(process: Process, state: CallState, part: Part, options: tuple[str, ...]) -> set[Reason]:
    """What `rules.judge_choices` finds against the choices with `part` set to `options`."""
    choices = dict(state.vote())
    choices[part.question] = options
    boxes = [rules.MarkedBox(q, o, MarkState.MARKED) for q, opts in choices.items() for o in opts]
    return rules.judge_choices(process, boxes)[1]


def _full(process: Process, state: CallState, part: Part) -> bool:
    """No other option of `part` can be added without breaking a rule."""
    chosen = state.chosen(part.question)
    return all(_rule_reasons(process, state, part, chosen + (it.option,))
               for it in part.items if it.option not in chosen)


def _left(process: Process, state: CallState, part: Part, w: Words) -> list[str]:
    """What may still be chosen in `part`: money (knapsack budget) or a count."""
    if not part.many:
        return []
    if _knapsack(process):
        return [w["money_left"].format(amount=w.money(_money_left(process, state)))]
    limit = process.budget.max_lines if process.budget else next(
        q.max_choices for q in process.questions if q.id == part.question)
    more = (limit or 0) - len(state.chosen(part.question))
    if more <= 0:
        return []
    return [w["more_left_1"] if more == 1 else w["more_left"].format(k=more)]


def _money_left(process: Process, state: CallState) -> int:
    assert process.budget is not None
    prices = {it.option: it.price or 0 for it in process.items()}
    return process.budget.heading.amount - sum(prices[o] for o in state.chosen("budget"))


def _knapsack(process: Process) -> bool:
    return process.budget is not None and process.budget.voting_style == "knapsack"


def _listed(process: Process, part: Part, chosen: tuple[str, ...], w: Words) -> str:
    said = []
    for it in part.items:
        if it.option in chosen:
            text = process.text(it.text, w.lang)
            if it.price is not None and _knapsack(process):
                said.append(w["item_priced"].format(number=it.number, text=text, price=w.money(it.price)))
            else:
                said.append(w["item"].format(number=it.number, text=text))
    return w.numbers(said)


def _in_order(part: Part, options: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(it.option for it in part.items if it.option in options)


def _with_choice(state: CallState, question: str, options: tuple[str, ...]) -> CallState:
    choices = dict(state.choices)
    choices[question] = options
    return replace(state, choices=tuple(sorted(choices.items())))


def _sentence(text: str) -> str:
    """`text` ending like a sentence (a title usually has no full stop)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _timeout(state: CallState) -> int:
    return CODE_TIMEOUT if state.step is Step.CODE else CHOICE_TIMEOUT


def _lines(state: CallState, *texts: str) -> tuple[Line, ...]:
    return tuple(Line(text, state.lang) for text in texts)


def _listen(state: CallState, said: tuple[Line, ...], timeout: int, *, single_key: bool = False) -> Turn:
    return Turn(replace(state, seq=state.seq + 1), said, Listen(timeout, single_key))


def _end(state: CallState, texts: list[str], outcome: CallOutcome) -> Turn:
    ended = replace(state, step=Step.ENDED)
    w = Words(state.lang)
    return Turn(ended, _lines(ended, *texts, w["goodbye"]), None, outcome=outcome)
