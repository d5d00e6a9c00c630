"""process.yaml as typed models (DESIGN §3).

Validation here is about meaning (duplicate ids, translations, prices, dates);
`definition_file` turns YAML into these models and maps every error back to
file, line:column and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Text = dict[str, str]  # language code → text
BERLIN = ZoneInfo("Europe/Berlin")  # dates printed for citizens are Würzburg's dates

Where = tuple[str | int, ...]  # a path inside the model, e.g. ("options", 1, "id")


class RuleError(ValueError):
    """A broken rule, with `at`: the path (relative to the model that checks the rule)
    of the field it is about, so `definition_file` can point at that line."""

    def __init__(self, message: str, at: Where = ()) -> None:
        super().__init__(message)
        self.at = at


def _first_duplicate(ids: list[str]) -> int | None:
    """Index of the first id that repeats an earlier one."""
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            return index
        seen.add(value)
    return None


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    consul_order: int | None = None
    text: Text


class Question(Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    consul_id: int | None = None
    text: Text
    max_choices: int = Field(default=1, ge=1)
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _options(self) -> Question:
        dupe = _first_duplicate([o.id for o in self.options])
        if dupe is not None:
            raise RuleError(f"duplicate option id {self.options[dupe].id!r}", at=("options", dupe, "id"))
        if self.max_choices > len(self.options):
            raise RuleError(
                f"max_choices {self.max_choices} is more than the {len(self.options)} options", at=("max_choices",)
            )
        return self


class Investment(Model):
    id: str = Field(pattern=r"^[0-9]{1,12}$")  # CONSUL's investment id
    title: Text
    price: int = Field(gt=0)


class Heading(Model):
    consul_id: int | None = None
    name: str = Field(min_length=1)
    amount: int = Field(gt=0)


class Budget(Model):
    heading: Heading
    voting_style: Literal["knapsack", "approval"] = "knapsack"
    max_lines: int | None = Field(default=None, ge=1)
    investments: list[Investment] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> Budget:
        dupe = _first_duplicate([i.id for i in self.investments])
        if dupe is not None:
            raise RuleError(
                f"duplicate investment id {self.investments[dupe].id!r}", at=("investments", dupe, "id")
            )
        for index, inv in enumerate(self.investments):
            if inv.price > self.heading.amount:
                raise RuleError(
                    f"investment {inv.id} costs {inv.price}, more than the heading amount {self.heading.amount}",
                    at=("investments", index, "price"),
                )
        if self.voting_style == "approval" and self.max_lines is None:
            raise RuleError("voting_style approval needs max_lines", at=("max_lines",))
        return self


class PaperChannel(Model):
    return_address: str = Field(min_length=1)
    return_by: date | None = None
    postage_paid: bool = False  # printed: "Das Porto zahlt die Stadt" or "Bitte frankieren"


class PhoneChannel(Model):
    number: str = Field(min_length=3)


class Channels(Model):
    paper: PaperChannel | None = None
    sms: PhoneChannel | None = None
    voice: PhoneChannel | None = None


class HelpLine(Model):
    """A phone number citizens may call for help, printed on the ballot and the cover letter."""

    phone: str = Field(min_length=3)
    hours: Text  # e.g. {de: "Mo–Fr 8–16 Uhr", en: "Mon–Fri 8 am–4 pm"}

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        digits = [c for c in value if c.isdigit()]
        if not (value.strip().startswith(("+", "0")) and 6 <= len(digits) <= 15
                and all(c.isdigit() or c in " +-/()" for c in value)):
            raise ValueError(f"{value!r} is not a phone number like '+49 931 37-0' or '0931 37-0'")
        return value.strip()


class Privacy(Model):
    """What the data-protection notice (GDPR Art. 13) names; printed on ballot and cover letter."""

    controller: str = Field(min_length=1)  # name and postal address of the controller
    officer: str = Field(min_length=1)  # the data-protection officer's contact
    print_shop: str = Field(min_length=1)  # recipient: who prints and posts the ballots
    supervisory_authority: str = Field(
        default="Der Bayerische Landesbeauftragte für den Datenschutz (BayLfD), Wagmüllerstraße 18, 80538 München",
        min_length=1)
    url: str | None = None  # the full notice online, if the city has one


class Consul(Model):
    url: str | None = None
    poll_id: int | None = None
    budget_id: int | None = None


@dataclass(frozen=True)
class BallotItem:
    """One printed choice: an option of a question, or an investment of the budget."""

    question: str  # question id, or "budget"
    option: str  # option id, or investment id
    number: int  # printed number, 1, 2, 3 … over the whole ballot
    text: Text
    price: int | None = None


class Process(Model):
    id: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    kind: Literal["poll", "budget"]
    title: Text
    languages: list[str] = Field(min_length=1)
    opens: datetime
    closes: datetime
    retention_days: int = Field(default=180, ge=1)
    consul: Consul = Consul()
    identity: Literal["code", "phone"] = "code"
    conflicts: Literal["first", "last"] = "first"
    channels: Channels = Channels()
    questions: list[Question] = []
    comment: Text | None = None
    budget: Budget | None = None
    help: HelpLine | None = None
    privacy: Privacy | None = None  # required before a live process prints (`hybrid print`)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for index, lang in enumerate(value):
            if not (2 <= len(lang) <= 3 and lang.isascii() and lang.isalpha() and lang.islower()):
                raise RuleError(f"language {lang!r} is not a two-letter code like 'de'", at=(index,))
        dupe = _first_duplicate(value)
        if dupe is not None:
            raise RuleError(f"language {value[dupe]!r} is listed twice", at=(dupe,))
        return value

    @field_validator("opens", "closes")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2027-03-01T00:00:00+01:00")
        return value

    @model_validator(mode="after")
    def _rules(self) -> Process:
        if self.closes <= self.opens:
            raise RuleError("closes must be after opens", at=("closes",))
        if self.kind == "poll":
            if not self.questions:
                raise RuleError("a poll needs questions", at=("questions",))
            if self.budget is not None:
                raise RuleError("a poll has no budget section", at=("budget",))
            ids = [q.id for q in self.questions]
            dupe = _first_duplicate(ids)
            if dupe is not None:
                raise RuleError(f"duplicate question id {ids[dupe]!r}", at=("questions", dupe, "id"))
            if "budget" in ids:
                raise RuleError(
                    "'budget' is reserved and cannot be a question id", at=("questions", ids.index("budget"), "id")
                )
        else:
            if self.budget is None:
                raise RuleError("a budget process needs a budget section", at=("budget",))
            if self.questions:
                raise RuleError("a budget process has no questions", at=("questions",))
        if self.identity == "phone" and self.channels.paper is not None:
            raise RuleError("identity phone cannot be used with the paper channel", at=("identity",))
        self._check_translations()
        return self

    def _check_translations(self) -> None:
        def need(text: Text | None, what: str, at: Where) -> None:
            if text is None:
                return
            for lang in self.languages:
                if not text.get(lang, "").strip():
                    raise RuleError(f"{what} has no {lang!r} text", at=at)

        need(self.title, "title", ("title",))
        if self.help is not None:
            need(self.help.hours, "help hours", ("help", "hours"))
        need(self.comment, "comment", ("comment",))
        for qi, q in enumerate(self.questions):
            need(q.text, f"question {q.id}", ("questions", qi, "text"))
            for oi, o in enumerate(q.options):
                need(o.text, f"question {q.id} option {o.id}", ("questions", qi, "options", oi, "text"))
        # Investment titles come from CONSUL in one language; the first one is required.
        if self.budget is not None:
            for index, inv in enumerate(self.budget.investments):
                if not inv.title.get(self.languages[0], "").strip():
                    raise RuleError(
                        f"investment {inv.id} has no {self.languages[0]!r} title",
                        at=("budget", "investments", index, "title"),
                    )

    def items(self) -> list[BallotItem]:
        """Every printed choice with its number, the same in every variant."""
        items: list[BallotItem] = []
        if self.kind == "poll":
            for q in self.questions:
                for o in q.options:
                    items.append(BallotItem(q.id, o.id, len(items) + 1, o.text))
        else:
            assert self.budget is not None
            for inv in self.budget.investments:
                items.append(BallotItem("budget", inv.id, len(items) + 1, inv.title, inv.price))
        return items

    def example_numbers(self, rotation: int = 0) -> list[int]:
        """A valid example choice, shown in SMS replies (rotation 0: the first option of each
        question, at most three; or the first investments that fit the budget). The printed
        ballot rotates through the options by serial, so that across all ballots the example
        favours no option."""
        items = self.items()
        if self.kind == "poll":
            by_question: dict[str, list[int]] = {}
            for it in items:
                by_question.setdefault(it.question, []).append(it.number)
            return [numbers[rotation % len(numbers)] for numbers in list(by_question.values())[:3]]
        assert self.budget is not None
        budget = self.budget
        chosen: list[int] = []
        spent = 0
        start = rotation % len(items)
        for it in items[start:] + items[:start]:
            if len(chosen) == min(budget.max_lines or 2, 2):
                break
            if budget.voting_style == "approval" or spent + (it.price or 0) <= budget.heading.amount:
                chosen.append(it.number)
                spent += it.price or 0
        return chosen

    def opens_day(self) -> date:
        """The first day of voting, in Würzburg's time."""
        return self.opens.astimezone(BERLIN).date()

    def last_day(self) -> date:
        """The last day on which a vote counts (`closes` is exclusive), in Würzburg's time."""
        return (self.closes - timedelta(microseconds=1)).astimezone(BERLIN).date()

    def text(self, text: Text, lang: str) -> str:
        """`text` in `lang`, falling back to the process's first language."""
        return text.get(lang) or text[self.languages[0]]

    @property
    def is_test(self) -> bool:
        return self.id.endswith("-test")
