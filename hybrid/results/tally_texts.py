"""The words beside the ids of a tally: each question's and option's text in one language
(a budget's "question" is its heading, its options the investments' titles)."""

from __future__ import annotations

from hybrid.definition import Process


def tally_texts(process: Process, language: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(question id, option id) → (question text, option text) in `language`, or the
    process's first language where a text lacks it."""
    def say(text: dict[str, str]) -> str:
        return process.text(text, language)

    if process.kind == "poll":
        return {(q.id, o.id): (say(q.text), say(o.text)) for q in process.questions for o in q.options}
    assert process.budget is not None
    heading = process.budget.heading.name
    return {("budget", inv.id): (heading, say(inv.title)) for inv in process.budget.investments}
