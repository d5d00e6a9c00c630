"""The citizen's paper, read back from the real PDFs the way a voter and an auditor would
(issue: secret ballots and a paper every citizen can use).

Sizes come from pdfplumber's text objects; a returned cover letter goes through the real
`hybrid scan` (rendered by pdfium, as a scanner's PDF and as a phone photo).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path

import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pytest
from PIL import Image

from forms.compose import LAYOUT_ID_TEXT, SERIAL_TEXT
from forms.letter import ADDRESS_WINDOW
from hybrid.codes import EXAMPLE_CODE, is_valid_code
from hybrid.definition_file import load_process
from hybrid.layout import Layout

# Its module fixtures are built once: all of its tests run on one worker of `-n auto`.
pytestmark = pytest.mark.xdist_group("test_citizen_paper")

PT_PER_MM = 72 / 25.4
PEOPLE = [["Erika Müßig", "Domstraße 7", "97074", "Würzburg"],
          ["Jonas Übelhör", "Semmelstraße 12a", "97072", "Würzburg"]]


def _inside(char: dict, rect) -> bool:
    x, top = char["x0"] / PT_PER_MM, char["top"] / PT_PER_MM
    return rect.x - 1.0 <= x <= rect.x + rect.w + 1.0 and rect.y - 1.0 <= top <= rect.y + rect.h + 1.0


def _staff_marking(char: dict) -> bool:
    """Serial and layout id are for staff and the OCR fallback, not for the voter."""
    return _inside(char, SERIAL_TEXT) or _inside(char, LAYOUT_ID_TEXT)


def _postal(char: dict) -> bool:
    """The cover letter's window: the postal return line and the recipient (DIN 5008)."""
    return _inside(char, ADDRESS_WINDOW)


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Poll and budget, German and English, standard and large print, addressed runs."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("citizen-paper")
    env = {"XDG_CONFIG_HOME": str(root / "config"), "PATH": "/usr/bin:/bin"}
    addresses = root / "addresses.csv"
    addresses.write_text("name,street,postcode,city\n" + "".join(",".join(p) + "\n" for p in PEOPLE), encoding="utf-8")
    cli = str(Path(__file__).resolve().parent.parent / "cli.py")
    runs = {}
    for example in ("poll", "budget"):
        ws = root / example
        subprocess.run([sys.executable, cli, "-C", ws, "init", "--example", example], env=env, check=True,
                       capture_output=True)
        for lang in ("de", "en"):
            for large in (False, True):
                pdf = ws / f"{lang}{'-large' if large else ''}.pdf"
                args = [sys.executable, cli, "-C", ws, "print", "--addresses", addresses, "--lang", lang, "-o", pdf]
                subprocess.run(args + (["--large-print"] if large else []), env=env, check=True, capture_output=True)
                manifest = json.loads(pdf.with_suffix("").with_name(pdf.stem + ".manifest.json").read_text())
                runs[(example, lang, large)] = (pdf, manifest)
    return {"root": root, "env": env, "cli": cli, "runs": runs}


def _pages(pdf: Path, manifest: dict) -> tuple[list[int], list[int]]:
    """Indexes of letter pages and of ballot pages in an addressed run's PDF."""
    letter, ballot = manifest["cover_letter"]["pages"], manifest["pages_per_ballot"]
    per_person = letter + ballot
    letters = [i for i in range(manifest["ballots"] * per_person) if i % per_person < letter]
    ballots = [i for i in range(manifest["ballots"] * per_person) if i % per_person >= letter]
    return letters, ballots


def test_every_citizen_facing_text_is_at_least_10_pt_or_16_pt_in_large_print(printed):
    for (example, lang, large), (pdf, manifest) in printed["runs"].items():
        least = 16.0 if large else 10.0
        with pdfplumber.open(pdf) as plumber:
            for index, page in enumerate(plumber.pages):
                small = [c for c in page.chars if c["text"].strip() and c["size"] < least - 0.05
                         and not _staff_marking(c) and not _postal(c)]
                assert not small, (example, lang, large, index, "".join(c["text"] for c in small[:60]),
                                   small[0]["size"])


def test_no_page_that_carries_a_ballot_code_or_qr_holds_any_part_of_an_address(printed):
    for key, (pdf, manifest) in printed["runs"].items():
        letters, ballots = _pages(pdf, manifest)
        with pdfplumber.open(pdf) as plumber:
            for index in ballots:
                text = " ".join(plumber.pages[index].extract_text().split())
                for person in PEOPLE:
                    for part in (*person[0].split(), person[1], f"{person[2]} {person[3]}"):
                        assert part not in text, (key, index, part)
            for n, index in enumerate(letters[::manifest["cover_letter"]["pages"]]):
                text = " ".join(plumber.pages[index].extract_text().split())
                assert PEOPLE[n][0] in text and PEOPLE[n][1] in text
                assert not re.search(r"\d{4} \d{4} \d{4}", text)  # the letter carries no code


def test_the_sms_example_fails_the_check_digit_and_rotates_over_the_options(tmp_path: Path, run_cli):
    assert not is_valid_code(EXAMPLE_CODE.replace(" ", ""))
    ws = tmp_path / "ws"
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    assert run_cli("-C", ws, "print", "--count", 40, "-o", ws / "b.pdf").code == 0
    process = load_process(ws / "process.yaml")
    shown: Counter = Counter()
    with pdfplumber.open(ws / "b.pdf") as plumber:
        for page in plumber.pages:
            for line in page.extract_text().splitlines():
                if line.startswith(EXAMPLE_CODE):
                    shown.update(int(n) for n in line.removeprefix(EXAMPLE_CODE).split())
    first_question = [it.number for it in process.items() if it.question == "q1"]
    counts = [shown[n] for n in first_question]
    assert sum(counts) == 40 and max(counts) - min(counts) <= 1, counts  # no option favoured


def test_every_budget_page_repeats_the_limit_and_prices_stand_in_one_column(printed):
    for lang in ("de", "en"):
        for large in (False, True):
            pdf, manifest = printed["runs"][("budget", lang, large)]
            band = {"de": "Höchstens 500.000 € zusammen", "en": "at most €500,000 in total"}[lang]
            _, ballots = _pages(pdf, manifest)
            layout = Layout.from_json(pdf.with_name(pdf.stem + ".layout.json").read_text(encoding="utf-8"))
            with pdfplumber.open(pdf) as plumber:
                for index in ballots:
                    text = " ".join(plumber.pages[index].extract_text().split())
                    assert band in text, (lang, large, index)
                    layout_page = layout.pages[(index % (len(layout.pages) + 2)) - 2]
                    for box in layout_page.boxes:  # each price ends at the same right edge, on its box's line
                        row = [c for c in plumber.pages[index].chars
                               if box.y - 1.0 <= c["top"] / PT_PER_MM <= box.y + box.h and c["x0"] / PT_PER_MM > 120]
                        assert row and abs(max(c["x1"] for c in row) / PT_PER_MM - 190.0) < 0.3, (lang, large, index)
                worksheet = {"de": "Ihre Summe", "en": "Your total"}[lang]
                assert worksheet in " ".join(plumber.pages[i].extract_text() for i in ballots)
                counts_nothing = {"de": "zählt Ihr ganzer Stimmzettel nicht", "en": "your whole ballot does not count"}
                assert counts_nothing[lang] in " ".join(" ".join(plumber.pages[i].extract_text().split())
                                                        for i in ballots)


def test_the_paper_says_when_how_and_whom_to_ask(printed):
    pdf, manifest = printed["runs"][("poll", "de", False)]
    _, ballots = _pages(pdf, manifest)
    with pdfplumber.open(pdf) as plumber:
        text = " ".join(" ".join(plumber.pages[i].extract_text().split()) for i in ballots[:manifest["pages_per_ballot"]])
    for phrase in ("SMS und Telefon: vom 03.05.2027 bis 31.05.2027", "nicht der Poststempel",
                   "Das Porto zahlt die Stadt", "+49 931 37-2345 (Mo–Fr 8–16 Uhr)",
                   "Kreuzen Sie dann das richtige Kästchen an", "pseudonymisiert", "BayLfD", "Art. 21",
                   "Twilio Ireland", "USA", "Amazon Polly", "Datenschutzbeauftragte", "Druckhaus Mainfranken"):
        assert phrase in text, phrase
    assert "verschlüsselt" not in text


def test_the_cover_letter_says_what_to_do_and_carries_the_whole_notice(printed):
    pdf, manifest = printed["runs"][("poll", "de", False)]
    with pdfplumber.open(pdf) as plumber:
        front = " ".join(plumber.pages[0].extract_text().split())
        back = " ".join(plumber.pages[1].extract_text().split())
    for phrase in ("Legen Sie nur den Stimmzettel in den Rückumschlag, nicht diesen Brief",
                   "bis 26.05.2027 zurück", "Rückseite"):
        assert phrase in front, phrase
    for phrase in ("Verantwortlich", "Ihre Anschrift", "Widerspruch (Art. 21 DSGVO)", "BayLfD", "Speicherdauer"):
        assert phrase in back, phrase


def test_a_live_process_without_privacy_notice_is_refused_before_printing(tmp_path: Path, run_cli):
    ws = tmp_path / "ws"
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    yaml_path = ws / "process.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    start = text.index("privacy:")
    end = text.index("channels:")
    yaml_path.write_text(text[:start] + text[end:], encoding="utf-8")
    result = run_cli("-C", ws, "print", "--count", 1)
    assert result.code == 2 and "privacy" in result.err and "process.yaml" in result.err


def test_a_help_line_with_a_wrong_number_names_its_field(tmp_path: Path, run_cli):
    ws = tmp_path / "ws"
    assert run_cli("-C", ws, "init", "--example", "poll").code == 0
    yaml_path = ws / "process.yaml"
    yaml_path.write_text(yaml_path.read_text(encoding="utf-8").replace('phone: "+49 931 37-2345"', 'phone: "call us"'),
                         encoding="utf-8")
    result = run_cli("-C", ws, "check")
    assert result.code == 2 and "help.phone" in result.err and "process.yaml:" in result.err


def _scan(printed: dict, ws: Path, *inputs: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, printed["cli"], "-C", ws, "scan", *inputs, "--received", "2027-05-10"],
                          env=printed["env"], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr


def test_a_returned_cover_letter_is_skipped_and_no_image_of_it_is_kept(printed, tmp_path: Path):
    pdf, manifest = printed["runs"][("poll", "de", False)]
    ws = printed["root"] / "poll"
    document = pdfium.PdfDocument(str(pdf))
    pages = [document[i].render(scale=200 / 72, grayscale=True).to_pil().convert("L") for i in range(4)]
    document.close()
    tray = tmp_path / "tray.pdf"  # letter front, letter back, then the ballot's two pages
    pages[0].save(tray, save_all=True, append_images=pages[1:], resolution=200)
    photo = tmp_path / "letter-photo.png"  # the letter's front alone, as a phone picture
    pages[0].rotate(2.0, expand=True, fillcolor=255).save(photo)
    _scan(printed, ws, tray, photo)
    _scan(printed, ws, tray, photo)  # again: nothing changes
    with closing(sqlite3.connect(ws / "hybrid.db")) as db:
        rows = db.execute("SELECT source, state, reasons, review_crop, comment_crop FROM pages ORDER BY source").fetchall()
        archived = {Path(name).name: path for name, path in db.execute("SELECT name, archived FROM inputs")}
    letters = [r for r in rows if "cover_letter" in r[2]]
    assert len(letters) == 3 and all(r[1] == "skipped" and r[3] is None and r[4] is None for r in letters)
    assert sum(1 for r in rows if r[1] == "identified") == manifest["pages_per_ballot"]  # the ballot: both pages
    assert archived["letter-photo.png"] is None
    copy = ws / archived["tray.pdf"]
    kept = pdfium.PdfDocument(str(copy))
    for index in (0, 1):  # the letter's pages are white in the archived copy
        ink = np.asarray(kept[index].render(scale=50 / 72, grayscale=True).to_pil().convert("L"))
        assert ink.min() > 250, index
    ballot = np.asarray(kept[2].render(scale=50 / 72, grayscale=True).to_pil().convert("L"))
    assert ballot.min() < 100  # the ballot itself is kept as it came
    kept.close()
    needles = [p[0].encode() for p in PEOPLE] + [p[1].encode() for p in PEOPLE]
    for path in (ws / "scans").rglob("*"):
        if path.is_file():
            if path.suffix == ".png":
                assert Image.open(path).size  # crops: none of them is a letter (checked above by page row)
            raw = path.read_bytes()
            assert not any(n in raw for n in needles), path
    assert not any(p.name.endswith(".png") and "letter" in p.name for p in (ws / "scans").iterdir())
