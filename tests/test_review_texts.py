"""One catalogue of words for states and reasons, German and English (issue 12, must 5;
issue 11, item 5): the review page and the CLI read the same words, every state and reason
has both, and a box filled in completely is "ausgefüllt" / "filled in", never "durchgestrichen"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hybrid import state_texts
from hybrid.states import MarkState, PageState, Reason, RecordState
from review import i18n

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind,enum", [("record_state", RecordState), ("page_state", PageState),
                                       ("reason", Reason), ("mark_state", MarkState)])
def test_every_state_and_reason_has_a_german_and_an_english_word(kind, enum):
    for member in enum:
        german, english = state_texts.text(kind, member.value, "de"), state_texts.text(kind, member.value, "en")
        assert german and english, member
        assert "_" not in german + english, f"{member.value} has no word yet"  # the fallback shows underscores


def test_the_page_and_the_cli_read_the_same_words(monkeypatch):
    for lang in ("de", "en"):
        page = i18n.strings(lang)
        for reason in Reason:
            assert page["r_" + reason.value] == state_texts.text("reason", reason.value, lang)
        for state in RecordState:
            assert page["rs_" + state.value] == state_texts.text("record_state", state.value, lang)
    monkeypatch.setenv("HYBRID_LANG", "de")
    assert state_texts.text("reason", "overvote") == "zu viele Kreuze"
    monkeypatch.setenv("HYBRID_LANG", "en")
    assert state_texts.text("reason", "overvote") == "too many marks"


def test_the_voters_word_for_a_filled_in_box():
    assert "ausgefüllt" in state_texts.text("mark_state", "cancelled", "de")
    assert "filled in" in state_texts.text("mark_state", "cancelled", "en")
    assert "ausgefüllt" in state_texts.text("reason", "cancelled_only", "de")
    hub_code = [*(ROOT / "hybrid" / "review").rglob("*.py"), ROOT / "hybrid" / "store" / "review.py"]
    for path in [*(ROOT / "review").rglob("*.*"), *hub_code]:
        if path.suffix in (".py", ".js", ".html", ".css"):
            text = path.read_text(encoding="utf-8").lower()
            assert "durchgestrichen" not in text and "strikethrough" not in text, path


def test_the_german_page_has_no_english_words_and_the_english_page_no_german_ones():
    german, english = i18n.strings("de"), i18n.strings("en")
    assert set(german) == set(english)
    english_words = re.compile(r"\b(the|review|unreadable|beside|status|marked|page|reject)\b", re.I)
    german_words = re.compile(r"\b(der|die|das|und|nicht|Seite|Kreuz\w*|Stimmzettel|ungültig)\b")
    placeholder = re.compile(r"\{\w+\}")
    for key, word in german.items():
        assert not english_words.search(placeholder.sub("", word)), (key, word)
    for key, word in english.items():
        assert not german_words.search(placeholder.sub("", word)), (key, word)
    # The JavaScript shows no state or reason by its raw name: every label goes through the table.
    script = (ROOT / "review" / "static" / "review.js").read_text(encoding="utf-8")
    assert "${d.record.status}" not in script and "${e.state}" not in script and "p.message" not in script
