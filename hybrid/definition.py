"""process.yaml as typed models (DESIGN §3).

Validation here is about meaning (duplicate ids, translations, prices, dates);
`definition_file` turns YAML into these models and maps every error back to
file, line:column and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Text = dict[str, str]  # language code → text


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
        ids = [o.id for o in self.options]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate option id {dupes[0]!r}")
        if self.max_choices > len(self.options):
            raise ValueError(f"max_choices {self.max_choices} is more than the {len(self.options)} options")
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
        ids = [i.id for i in self.investments]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate investment id {dupes[0]!r}")
        for inv in self.investments:
            if inv.price > self.heading.amount:
                raise ValueError(
                    f"investment {inv.id} costs {inv.price}, more than the heading amount {self.heading.amount}"
                )
        if self.voting_style == "approval" and self.max_lines is None:
            raise ValueError("voting_style approval needs max_lines")
        return self


class PaperChannel(Model):
    return_address: str = Field(min_length=1)
    return_by: date | None = None


class PhoneChannel(Model):
    number: str = Field(min_length=3)


class Channels(Model):
    paper: PaperChannel | None = None
    sms: PhoneChannel | None = None
    voice: PhoneChannel | None = None


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

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for lang in value:
            if not (2 <= len(lang) <= 3 and lang.isascii() and lang.isalpha() and lang.islower()):
                raise ValueError(f"language {lang!r} is not a two-letter code like 'de'")
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
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
            raise ValueError("closes must be after opens")
        if self.kind == "poll":
            if not self.questions:
                raise ValueError("a poll needs questions")
            if self.budget is not None:
                raise ValueError("a poll has no budget section")
            ids = [q.id for q in self.questions]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate question id {dupes[0]!r}")
            if "budget" in ids:
                raise ValueError("'budget' is reserved and cannot be a question id")
        else:
            if self.budget is None:
                raise ValueError("a budget process needs a budget section")
            if self.questions:
                raise ValueError("a budget process has no questions")
        if self.identity == "phone" and self.channels.paper is not None:
            raise ValueError("identity phone cannot be used with the paper channel")
        self._check_translations()
        return self

    def _check_translations(self) -> None:
        def need(text: Text | None, where: str) -> None:
            if text is None:
                return
            for lang in self.languages:
                if not text.get(lang, "").strip():
                    raise ValueError(f"{where} has no {lang!r} text")

        need(self.title, "title")
        need(self.comment, "comment")
        for q in self.questions:
            need(q.text, f"question {q.id}")
            for o in q.options:
                need(o.text, f"question {q.id} option {o.id}")
        # Investment titles come from CONSUL in one language; the first one is required.
        if self.budget is not None:
            for inv in self.budget.investments:
                if not inv.title.get(self.languages[0], "").strip():
                    raise ValueError(f"investment {inv.id} has no {self.languages[0]!r} title")

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

    def text(self, text: Text, lang: str) -> str:
        """`text` in `lang`, falling back to the process's first language."""
        return text.get(lang) or text[self.languages[0]]

    @property
    def is_test(self) -> bool:
        return self.id.endswith("-test")
