"""CONSUL's ballot sheets as CONSUL handles them, re-implemented from its Ruby source
(consuldemocracy, app/models/poll/ballot_sheet.rb, poll/ballot.rb, budget/ballot.rb,
budget/ballot/line.rb, budget/voting_styles/{knapsack,approval}.rb), to test what
hybrid writes against what CONSUL would make of it. A test double: tests only.

What CONSUL does with pasted text, step by step:
- `Poll::BallotSheet#parsed_ballots`: `data.split(/[;\\n]/)` (Ruby's split drops trailing
  empty fields, keeps the others: an empty line in the middle is an empty ballot).
- one `Poll::Ballot` per part and a physical `Budget::Ballot` for it; `verify` walks
  `data.split(",")` and for each id `find_investment` (`budget.investments.find_by(id:)`,
  the string cast to an integer as Rails does) and, unless already on the ballot,
  `add_investment`, i.e. `lines.create(investment:)`, which is silently not persisted when
  a validation fails:
  - `check_selected`: the investment must be selected;
  - `check_sufficient_funds`: knapsack: the heading's price minus what the ballot already
    spends in the heading must cover the price; approval: fewer lines in the heading
    than its `max_ballot_lines`;
  - `check_valid_heading`: the heading belongs to the budget, and no other heading of the
    same group is already on the ballot.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ConsulHeading:
    id: int
    group_id: int
    price: int  # Budget::Heading#price: the knapsack limit
    max_ballot_lines: int = 1  # the approval limit
    budget_id: int = 1


@dataclass(frozen=True)
class ConsulInvestment:
    id: int
    heading_id: int
    price: int | None
    selected: bool = True


@dataclass
class PhysicalBallot:
    """A Budget::Ballot with physical: true; `lines` in the order CONSUL added them."""

    external_id: int
    data: str
    lines: list[int] = field(default_factory=list)


@dataclass
class ConsulBudget:
    id: int
    voting_style: str  # knapsack | approval
    headings: dict[int, ConsulHeading]
    investments: dict[int, ConsulInvestment]
    ballots: list[PhysicalBallot] = field(default_factory=list)

    # -- Poll::BallotSheet -----------------------------------------------------------------------------------

    def paste_ballot_sheet(self, data: str) -> list[PhysicalBallot]:
        """`Poll::BallotSheet.create!(data:)` then `verify_ballots`; the ballots it made."""
        if not data.strip():  # validates :data, presence: true
            raise ValueError("Data can't be blank")
        made = []
        for index, investment_ids in enumerate(ruby_split(data, r"[;\n]")):
            ballot = PhysicalBallot(index, investment_ids)
            self.ballots.append(ballot)
            self._verify(ballot)
            made.append(ballot)
        return made

    # -- Poll::Ballot ----------------------------------------------------------------------------------------

    def _verify(self, ballot: PhysicalBallot) -> None:
        for investment_id in ruby_split(ballot.data, ","):
            investment = self.investments.get(rails_integer(investment_id))  # find_by(id:) within the budget
            if investment is not None and investment.id not in ballot.lines:  # not_already_added?
                self._add_line(ballot, investment)

    # -- Budget::Ballot::Line validations --------------------------------------------------------------------

    def _add_line(self, ballot: PhysicalBallot, investment: ConsulInvestment) -> bool:
        heading = self.headings[investment.heading_id]
        if not investment.selected:  # check_selected
            return False
        if not self._enough_resources(ballot, investment, heading):  # check_sufficient_funds
            return False
        if not self._valid_heading(ballot, heading):  # check_valid_heading
            return False
        ballot.lines.append(investment.id)
        return True

    def _in_heading(self, ballot: PhysicalBallot, heading: ConsulHeading) -> list[ConsulInvestment]:
        return [self.investments[i] for i in ballot.lines if self.investments[i].heading_id == heading.id]

    def _enough_resources(self, ballot: PhysicalBallot, investment: ConsulInvestment, heading: ConsulHeading) -> bool:
        taken = self._in_heading(ballot, heading)
        if self.voting_style == "approval":
            return heading.max_ballot_lines - len(taken) > 0
        available = heading.price - sum(i.price or 0 for i in taken)
        return (investment.price or 0) <= available

    def _valid_heading(self, ballot: PhysicalBallot, heading: ConsulHeading) -> bool:
        if heading.budget_id != self.id:  # wrong_budget?
            return False
        others = {h.id for h in self.headings.values() if h.group_id == heading.group_id} - {heading.id}
        return not any(self.investments[i].heading_id in others for i in ballot.lines)  # different_heading_assigned?

    # -- what CONSUL shows afterwards ------------------------------------------------------------------------

    def votes(self) -> Counter:
        """Investment id → physical ballot lines (CONSUL's ballot_lines_count from paper)."""
        return Counter(i for ballot in self.ballots for i in ballot.lines)


def ruby_split(text: str, pattern: str) -> list[str]:
    """Ruby's String#split with a pattern: like re.split, without the trailing empty fields."""
    parts = re.split(pattern, text)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def rails_integer(text: str) -> int | None:
    """How ActiveRecord casts a string given for an integer id (String#to_i: leading blanks,
    a sign and the digits that follow; anything else is 0, and no record has id 0)."""
    found = re.match(r"\s*([+-]?\d+)", text)
    return int(found.group(1)) if found else 0


def consul_budget_for(process, *, heading_price: int | None = None, max_ballot_lines: int | None = None,
                      selected: set[str] | None = None) -> ConsulBudget:
    """The CONSUL budget a process.yaml describes, with its settings as given (default: as
    hybrid counted), to show what a setting that differs does."""
    budget = process.budget
    heading = ConsulHeading(budget.heading.consul_id or 1, 1,
                            budget.heading.amount if heading_price is None else heading_price,
                            (budget.max_lines or 1) if max_ballot_lines is None else max_ballot_lines,
                            process.consul.budget_id or 1)
    chosen = {inv.id for inv in budget.investments} if selected is None else selected
    investments = {int(inv.id): ConsulInvestment(int(inv.id), heading.id, inv.price, inv.id in chosen)
                   for inv in budget.investments}
    return ConsulBudget(process.consul.budget_id or 1, budget.voting_style, {heading.id: heading}, investments)
