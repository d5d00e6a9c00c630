"""Ballot wording for the languages spoken in Würzburg besides German and English:
Turkish and Cyrillic text is embedded and extracts again from the PDF."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest

from forms.print_run import PrintRequest, run_print
from forms.texts import BALLOT_TEXTS
from hybrid.definition_file import load_process
from hybrid.store import Store
from hybrid.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"
OPTION_WORDS = {"tr": "Seçenek ığüşöç", "ru": "Вариант ёжик", "uk": "Варіант їжак"}


def multilingual_poll():
    process = load_process(EXAMPLES / "poll.yaml")
    languages = ["de", "en", *OPTION_WORDS]

    def extend(text: dict[str, str], suffix: str = "") -> dict[str, str]:
        return {**text, **{lang: f"{OPTION_WORDS[lang]} {suffix}".strip() for lang in OPTION_WORDS}}

    questions = [q.model_copy(update={"text": extend(q.text, q.id),
                                      "options": [o.model_copy(update={"text": extend(o.text, o.id)})
                                                  for o in q.options]})
                 for q in process.questions]
    return process.model_copy(update={"languages": languages, "questions": questions,
                                      "title": extend(process.title), "comment": extend(process.comment)})


@pytest.mark.parametrize("lang", sorted(OPTION_WORDS))
def test_turkish_and_cyrillic_ballots_embed_their_text(tmp_path, lang):
    process = multilingual_poll()
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    store = Store.open(ws.root, process.id, create=True)
    result = run_print(store, process, PrintRequest(count=1, lang=lang), ws.out_dir, workers=1)
    with pdfplumber.open(result.files[0].path) as pdf:
        text = "\n".join(page.extract_text() for page in pdf.pages)
    assert BALLOT_TEXTS[lang]["ballot"] in text
    assert BALLOT_TEXTS[lang]["how_to"] in text
    assert f"{OPTION_WORDS[lang]} a" in text


def test_arabic_is_refused_by_name(tmp_path):
    process = multilingual_poll()
    process = process.model_copy(update={"languages": [*process.languages, "ar"]})
    from forms.compose import BallotComposer
    from hybrid.errors import InvalidInput

    with pytest.raises(InvalidInput, match="'ar'"):
        BallotComposer(process, "ar", False).compose()
