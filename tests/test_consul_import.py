"""A budget starts from CONSUL's admin export of investments (DESIGN §8)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid.consul_import import parse_price, process_from_consul_csv
from hybrid.definition_file import load_process
from hybrid.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

GERMAN_HEADER = [
    "ID", "Titel", "Unterstützung", "Administrator", "Begutachter/in", "Bewertungsgruppe",
    "Rahmenbedingungen", "Durchführbarkeit", "Bew. Fin.", "Ausgewählt",
    "Den Begutachtern/Begutachterinnen zeigen", "Benutzer*innenname des/der Verfasser*in",
]  # fmt: skip
ENGLISH_HEADER = [
    "ID", "Title", "Supports", "Administrator", "Valuator", "Valuation Group", "Scope of operation",
    "Feasibility", "Val. Fin.", "Selected", "Show to valuators", "Author username",
]  # fmt: skip


def german_row(inv_id, title, feasibility, selected, heading="Gesamtstadt"):
    return [inv_id, title, "57", "Kein*e Administrator*in zugewiesen", "Gartenamt", "-", heading,
            feasibility, "Ja", selected, "Ja", "kiliansbub"]  # fmt: skip


def english_row(inv_id, title, feasibility, selected, heading="Heidingsfeld"):
    return [inv_id, title, "12", "No admin assigned", "Tiefbauamt", "-", heading,
            feasibility, "Yes", selected, "Yes", "radeln_wue"]  # fmt: skip


def write_csv(tmp_path: Path, header, rows, *, delimiter=",", encoding="utf-8", name="investments.csv") -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_bytes(out.getvalue().encode(encoding))
    return path


GERMAN_ROWS = [
    german_row(131, "Trinkwasserbrunnen am Marktplatz", "Durchführbar (€18.000)", "Ja"),
    german_row(132, "Seilbahn zur Festung", "Undurchführbar", "Nein"),
    german_row(133, "Sitzbänke, Tische und Schatten am Mainufer", "Durchführbar (€45.000)", "Ja"),
    german_row(134, "Kostenloses WLAN", "Durchführbar (€240.000)", "Nein"),
    german_row(135, "Mehr Parkplätze", "Offen", "Nein"),
    german_row(136, "Lastenräder: zum Ausleihen", "Durchführbar (28.000 €)", "Ja"),
]


def imported(tmp_path: Path, csv_path: Path, **options):
    """Import, write process.yaml, load it back: (Process, warnings)."""
    options.setdefault("heading_amount", 500000)
    options.setdefault("voting_style", "knapsack")
    text, warnings = process_from_consul_csv(csv_path, **options)
    definition = tmp_path / "process.yaml"
    definition.write_text(text, encoding="utf-8")
    return load_process(definition), warnings


def investments(process):
    return [(inv.id, inv.title["de"], inv.price) for inv in process.budget.investments]


# --- the story: export from CONSUL, start a process, edit it, print ----------------------------


def test_german_export_gives_a_budget_of_the_selected_rows(tmp_path):
    process, warnings = imported(tmp_path, write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS))
    assert investments(process) == [
        ("131", "Trinkwasserbrunnen am Marktplatz", 18000),
        ("133", "Sitzbänke, Tische und Schatten am Mainufer", 45000),
        ("136", "Lastenräder: zum Ausleihen", 28000),
    ]
    assert all(inv.title["en"] == inv.title["de"] for inv in process.budget.investments)
    assert warnings == ["titles copied from German into en; translate them"]
    assert process.kind == "budget" and process.languages == ["de", "en"]
    assert process.budget.heading.name == "Gesamtstadt" and process.budget.heading.amount == 500000
    assert process.budget.heading.consul_id is None
    assert process.budget.voting_style == "knapsack" and process.budget.max_lines is None
    assert process.identity == "code" and process.conflicts == "first" and process.retention_days == 180
    assert process.channels.paper and process.channels.sms and process.channels.voice
    assert [item.number for item in process.items()] == [1, 2, 3]


def test_english_export(tmp_path):
    rows = [
        english_row(301, "Benches along the town wall", "Feasible (€12,000)", "Yes"),
        english_row(302, "Swimming pool", "Unfeasible", "No"),
        english_row(303, "Youth room, old fire station", "Feasible (€45,000)", "Yes"),
    ]
    process, warnings = imported(tmp_path, write_csv(tmp_path, ENGLISH_HEADER, rows), heading_amount=100000)
    assert [(inv.id, inv.title["en"], inv.price) for inv in process.budget.investments] == [
        ("301", "Benches along the town wall", 12000),
        ("303", "Youth room, old fire station", 45000),
    ]
    assert process.budget.heading.name == "Heidingsfeld"
    assert warnings == ["titles copied from English into de; translate them"]


def test_newer_consul_columns_and_extra_trailing_columns_are_ignored(tmp_path):
    header = ["ID", "Titel", "Beschreibung", "Administrator", "Begutachter/in", "Bewertungsgruppe",
              "Rahmenbedingungen", "Durchführbarkeit", "Bew. Fin.", "Begründung", "Ausgewählt",
              "Den Begutachtern/Begutachterinnen zeigen", "Benutzer*innenname des/der Verfasser*in", ""]  # fmt: skip
    rows = [[131, "Brunnen", "<p>Ein Brunnen\nmit Wasser</p>", "-", "-", "-", "Gesamtstadt",
             "Durchführbar (€18.000)", "Ja", "-", "Ja", "Ja", "x", ""]]  # fmt: skip
    process, _ = imported(tmp_path, write_csv(tmp_path, header, rows))
    assert investments(process) == [("131", "Brunnen", 18000)]


def test_window_is_a_future_month_with_local_offsets(tmp_path):
    csv_path = write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS)
    process, _ = imported(tmp_path, csv_path, today=date(2026, 1, 15))
    assert process.opens.isoformat() == "2026-03-01T00:00:00+01:00"
    assert process.closes.isoformat() == "2026-04-01T00:00:00+02:00"
    assert process.channels.paper.return_by < process.closes.date()
    process, _ = imported(tmp_path, csv_path)
    assert date.today() < process.opens.date() < process.closes.date() <= process.opens.date() + timedelta(days=31)


def test_options_pass_through(tmp_path):
    csv_path = write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS, name="budget-4-investments.csv")
    process, warnings = imported(
        tmp_path, csv_path, voting_style="approval", max_lines=2, process_id="wue-bh-2027", languages=("de",)
    )
    assert process.id == "wue-bh-2027" and process.languages == ["de"]
    assert process.budget.voting_style == "approval" and process.budget.max_lines == 2
    assert process.consul.budget_id == 4
    assert warnings == []


def test_ids_are_quoted_strings_in_the_yaml(tmp_path):
    text, _ = process_from_consul_csv(write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS), 500000, "knapsack")
    assert "- id: '131'" in text
    assert "opens: 20" in text and "T00:00:00+0" in text


# --- the samples ------------------------------------------------------------------------------


def test_german_sample_matches_the_budget_example(tmp_path):
    process, warnings = imported(tmp_path, SAMPLES / "consul-budget-investments.csv")
    example = load_process(ROOT / "hybrid" / "examples" / "budget.yaml")
    assert [(i.id, i.title["de"], i.price) for i in process.budget.investments] == [
        (i.id, i.title["de"], i.price) for i in example.budget.investments
    ]
    rows = list(csv.reader((SAMPLES / "consul-budget-investments.csv").open(encoding="utf-8")))
    assert 38 <= len(rows) - 1 <= 45
    assert any(row[7] == "Undurchführbar" for row in rows) and any(row[9] == "Nein" for row in rows)


def test_english_sample_imports(tmp_path):
    process, warnings = imported(tmp_path, SAMPLES / "consul-budget-investments-en.csv", heading_amount=150000)
    assert len(process.budget.investments) == 7
    assert warnings


# --- what the export may look like --------------------------------------------------------------


def test_byte_order_mark(tmp_path):
    process, _ = imported(tmp_path, write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS, encoding="utf-8-sig"))
    assert len(process.budget.investments) == 3


def test_semicolons_from_a_german_excel(tmp_path):
    path = write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS, delimiter=";", encoding="utf-8-sig")
    process, _ = imported(tmp_path, path)
    assert investments(process)[1] == ("133", "Sitzbänke, Tische und Schatten am Mainufer", 45000)


def test_excel_sep_line(tmp_path):
    path = write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS, delimiter=";")
    path.write_text("sep=;\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    process, _ = imported(tmp_path, path)
    assert len(process.budget.investments) == 3


@pytest.mark.parametrize(
    "text, price",
    [
        ("Durchführbar (€45.000)", 45000),
        ("Feasible (€45,000)", 45000),
        ("Durchführbar (45.000 €)", 45000),
        ("Durchführbar (45.000,00 €)", 45000),
        ("Feasible (€1,250,000.00)", 1250000),
        ("Durchführbar (€500)", 500),
        ("Durchführbar (1\u202f250\u00a0€)", 1250),
        ("Undurchführbar", None),
        ("Nicht durchführbar", None),
        ("Offen", None),
        ("Unfeasible", None),
        ("Feasible", None),
        ("", None),
    ],
)
def test_prices(text, price):
    assert parse_price(text) == price


def test_a_price_with_cents_is_refused():
    with pytest.raises(InvalidInput, match="f.csv:3: .*cents"):
        parse_price("Durchführbar (€45.000,50)", "f.csv:3")


@given(st.integers(1, 10**9))
def test_prices_in_every_format(amount):
    english = f"{amount:,}"
    german = english.replace(",", ".")
    assert parse_price(f"Feasible (€{english})") == amount
    assert parse_price(f"Durchführbar (€{german})") == amount
    assert parse_price(f"Durchführbar ({german} €)") == amount
    assert parse_price(f"Durchführbar ({german},00\u00a0€)") == amount


# --- refusals that name the file and line --------------------------------------------------------


def refusal(path: Path, **options) -> str:
    options.setdefault("heading_amount", 500000)
    options.setdefault("voting_style", "knapsack")
    with pytest.raises(InvalidInput) as caught:
        process_from_consul_csv(path, **options)
    return caught.value.message


def test_selected_without_price_names_its_physical_line(tmp_path):
    rows = [
        german_row(131, "Brunnen\nmit zwei Zeilen im Titel", "Durchführbar (€18.000)", "Ja"),  # lines 2–3
        german_row(132, "Seilbahn", "Undurchführbar", "Nein"),  # line 4
        german_row(133, "Eisbahn", "Undurchführbar", "Ja"),  # line 5
    ]
    path = write_csv(tmp_path, GERMAN_HEADER, rows)
    message = refusal(path)
    assert message.startswith(f"{path}:5: investment 133 is selected but has no price")
    assert "'Undurchführbar'" in message


def test_missing_column_is_named(tmp_path):
    header = [h for h in GERMAN_HEADER if h != "Ausgewählt"]
    rows = [row[:9] + row[10:] for row in GERMAN_ROWS]
    path = write_csv(tmp_path, header, rows)
    message = refusal(path)
    assert str(path) in message and "'Ausgewählt'" in message and "missing" in message


def test_not_an_export(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Name,Betrag\nBrunnen,100\n", encoding="utf-8")
    assert "not a CONSUL investments export" in refusal(path)


def test_no_selected_rows(tmp_path):
    rows = [row[:9] + ["Nein"] + row[10:] for row in GERMAN_ROWS]
    assert "no selected investments" in refusal(write_csv(tmp_path, GERMAN_HEADER, rows))


def test_more_than_one_heading_is_refused_listing_them(tmp_path):
    rows = GERMAN_ROWS + [german_row(140, "Bank", "Durchführbar (€5.000)", "Ja", heading="Zellerau")]
    message = refusal(write_csv(tmp_path, GERMAN_HEADER, rows))
    assert "'Gesamtstadt'" in message and "'Zellerau'" in message and "one heading" in message


def test_price_over_heading_amount_names_the_line(tmp_path):
    path = write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS)
    assert refusal(path, heading_amount=40000).startswith(f"{path}:4: investment 133 costs 45000")


def test_unreadable_inputs(tmp_path):
    assert "no such file" in refusal(tmp_path / "missing.csv")
    path = write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS, encoding="cp1252")
    message = refusal(path)
    assert message.startswith(f"{path}:1:") and "not UTF-8" in message
    (tmp_path / "empty.csv").write_text("")
    assert "empty" in refusal(tmp_path / "empty.csv")


def test_unexpected_selected_value_names_the_line(tmp_path):
    rows = GERMAN_ROWS[:1] + [german_row(132, "Bank", "Durchführbar (€5.000)", "Vielleicht")]
    path = write_csv(tmp_path, GERMAN_HEADER, rows)
    assert refusal(path).startswith(f"{path}:3: column 'Ausgewählt' reads 'Vielleicht'")


def test_duplicate_id_with_other_investment_columns_names_both_lines(tmp_path):
    rows = GERMAN_ROWS + [german_row(131, "Nochmal", "Durchführbar (€5.000)", "Ja")]
    path = write_csv(tmp_path, GERMAN_HEADER, rows)
    assert refusal(path).startswith(f"{path}:8: investment 131 is listed twice with different 'Titel' "
                                    "(lines 2 and 8)")


# --- the newest export (CONSUL PR #6367): BOM, Created at, one row per comment ------------------

NEWEST_GERMAN = GERMAN_HEADER + ["Erstellt am", "Kommentar-ID", "Kommentar Autor*in", "Kommentarinhalt",
                                 "Übergeordneter Kommentar", "Kommentar erstellt am"]
NEWEST_ENGLISH = ENGLISH_HEADER + ["Created at", "Comment ID", "Comment Author", "Comment Content",
                                   "Comment Parent", "Comment Created at"]


def with_comments(row, created, *comments):
    """The rows of one investment in the newest export: one per comment (or one without)."""
    if not comments:
        return [row + [created, "", "", "", "", ""]]
    return [row + [created, str(cid), "oma_heidi", text, parent, "2026-10-02 10:00:00 +0200"]
            for cid, text, parent in comments]


def test_newest_german_sample_matches_the_budget_example(tmp_path):
    sample = SAMPLES / "consul-budget-investments-2026.csv"
    assert sample.read_bytes().startswith(b"\xef\xbb\xbf")  # CONSUL writes a BOM now
    rows = list(csv.reader(sample.open(encoding="utf-8-sig")))
    assert len(rows) - 1 > len({r[0] for r in rows[1:]})  # investments repeat, one row per comment
    assert any("€" in r[7] and "," in r[7] for r in rows[1:])  # CONSUL's de-DE prices: €45,000
    process, _ = imported(tmp_path, sample)
    example = load_process(ROOT / "hybrid" / "examples" / "budget.yaml")
    assert investments(process) == [(i.id, i.title["de"], i.price) for i in example.budget.investments]


def test_newest_english_sample_imports(tmp_path):
    process, warnings = imported(tmp_path, SAMPLES / "consul-budget-investments-2026-en.csv", heading_amount=150000)
    old, _ = imported(tmp_path, SAMPLES / "consul-budget-investments-en.csv", heading_amount=150000)
    assert investments(process) == investments(old) and len(investments(process)) == 7
    assert warnings


@pytest.mark.parametrize("header, row, yes", [
    (NEWEST_GERMAN, german_row, "Ja"),
    (NEWEST_ENGLISH, english_row, "Yes"),
])
def test_one_row_per_comment_is_one_investment(tmp_path, header, row, yes):
    rows = [
        *with_comments(row(131, "Brunnen", "Durchführbar (€18,000)", yes), "2026-01-02 09:00:00 +0100",
                       (1, "Gute Idee", ""), (2, "Ja, mit\nZeilenumbruch", "1"), (3, "Nein, \"zu teuer\"", "")),
        *with_comments(row(132, "Bank", "Durchführbar (45.000 €)", yes), "2026-01-03 09:00:00 +0100"),
        *with_comments(row(133, "Seilbahn", "Undurchführbar", "Nein" if yes == "Ja" else "No"),
                       "2026-01-04 09:00:00 +0100", (4, "Schade", "")),
    ]
    path = write_csv(tmp_path, header, rows, encoding="utf-8-sig")
    process, _ = imported(tmp_path, path)
    assert investments(process) == [("131", "Brunnen", 18000), ("132", "Bank", 45000)]


def test_a_repeated_investment_that_differs_names_both_lines_and_the_column(tmp_path):
    rows = [
        *with_comments(german_row(131, "Brunnen", "Durchführbar (€18,000)", "Ja"), "2026-01-02 09:00:00 +0100",
                       (1, "Erste\nZeile", "")),  # lines 2–3
        *with_comments(german_row(131, "Brunnen", "Durchführbar (€19,000)", "Ja"), "2026-01-02 09:00:00 +0100",
                       (2, "Zweite", "")),  # line 4
    ]
    path = write_csv(tmp_path, NEWEST_GERMAN, rows)
    message = refusal(path)
    assert message.startswith(f"{path}:4: investment 131 is listed twice with different 'Durchführbarkeit' "
                              "(lines 2 and 4)")


@pytest.mark.parametrize("created, comment_columns", [
    ("Erstellt am", ["Kommentar-ID", "Kommentar Autor*in", "Kommentarinhalt", "Übergeordneter Kommentar",
                     "Kommentar erstellt am"]),
    ("Erstellungsdatum", ["Kommentar (ID)", "Autor*in des Kommentars", "Inhalt des Kommentars",
                          "Kommentar-Elternteil", "Kommentar: erstellt am"]),
    ("ERSTELLT AM", ["KOMMENTAR ID", "Kommentarautor/in", "Kommentar Inhalt", "Kommentar übergeordnet",
                     "Kommentar Datum"]),
])
def test_german_headers_of_the_new_columns_are_matched_loosely(tmp_path, created, comment_columns):
    header = [h.upper() if h == "Titel" else h for h in GERMAN_HEADER] + [created, *comment_columns]
    rows = [
        german_row(131, "Brunnen", "Durchführbar (€18,000)", "Ja") + ["2026-01-02", "1", "a", "Gut", "", "x"],
        german_row(131, "Brunnen", "Durchführbar (€18,000)", "Ja") + ["2026-01-02", "2", "b", "Schlecht", "1", "y"],
    ]
    process, _ = imported(tmp_path, write_csv(tmp_path, ["\ufeff" + header[0], *header[1:]], rows))
    assert investments(process) == [("131", "Brunnen", 18000)]


@pytest.mark.parametrize("header, row, feasible, yes", [
    (NEWEST_GERMAN, german_row, "Durchführbar ()", "Ja"),
    (NEWEST_ENGLISH, english_row, "Feasible ()", "Yes"),
])
def test_approval_budgets_take_feasible_investments_without_a_price(tmp_path, header, row, feasible, yes):
    rows = [*with_comments(row(131, "Brunnen", feasible, yes), "2026-01-02 09:00:00 +0100"),
            *with_comments(row(132, "Bank", feasible, yes), "2026-01-02 09:00:00 +0100", (1, "Gut", ""))]
    path = write_csv(tmp_path, header, rows)
    process, _ = imported(tmp_path, path, voting_style="approval", max_lines=1)
    assert [(inv.id, inv.price) for inv in process.budget.investments] == [("131", None), ("132", None)]
    message = refusal(path)  # knapsack needs prices
    assert message.startswith(f"{path}:2: investment 131 is selected but has no price") and feasible in message


def test_a_knapsack_budget_without_prices_is_refused_in_process_yaml(tmp_path):
    text = (ROOT / "hybrid" / "examples" / "budget.yaml").read_text(encoding="utf-8")
    text = text.replace("      price: 18000\n", "", 1)
    path = tmp_path / "process.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match="investment 131 has no price; voting_style knapsack needs one"):
        load_process(path)


def test_bad_options(tmp_path):
    path = write_csv(tmp_path, GERMAN_HEADER, GERMAN_ROWS)
    assert "--max-lines" in refusal(path, voting_style="approval")
    assert "knapsack or approval" in refusal(path, voting_style="greedy")
    assert "positive" in refusal(path, heading_amount=0)
    assert "lowercase" in refusal(path, process_id="Bürgerhaushalt 2027")


# --- property: whatever CONSUL exports, what we write loads and equals the selected rows ------------

_titles = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60
).map(str.strip).filter(bool)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 10**6), _titles, st.integers(1, 200000), st.booleans(), st.booleans()),
        min_size=1, max_size=12, unique_by=lambda row: row[0],
    ),  # fmt: skip
    german=st.booleans(),
    delimiter=st.sampled_from([",", ";"]),
    bom=st.booleans(),
)
def test_round_trip(tmp_path, rows, german, delimiter, bom):
    if not any(selected and feasible for _, _, _, selected, feasible in rows):
        rows = rows + [(10**6 + 1, "Brunnen", 1000, True, True)]
    rows = [(i, t, p, s, f or s) for i, t, p, s, f in rows]  # a selected row always has a price
    make = german_row if german else english_row

    def feasibility(price, feasible):
        if not feasible:
            return "Undurchführbar" if german else "Unfeasible"
        return f"Durchführbar (€{price:,})".replace(",", ".") if german else f"Feasible (€{price:,})"

    yes, no = ("Ja", "Nein") if german else ("Yes", "No")
    table = [make(i, t, feasibility(p, f), yes if s else no) for i, t, p, s, f in rows]
    header = GERMAN_HEADER if german else ENGLISH_HEADER
    path = write_csv(tmp_path, header, table, delimiter=delimiter, encoding="utf-8-sig" if bom else "utf-8")
    process, _ = imported(tmp_path, path, heading_amount=200000)
    language = "de" if german else "en"
    assert [(inv.id, inv.title[language], inv.price) for inv in process.budget.investments] == [
        (str(i), t, p) for i, t, p, s, _ in rows if s
    ]


def test_price_zero_names_the_line(tmp_path):
    rows = GERMAN_ROWS[:1] + [german_row(132, "Bank", "Durchführbar (€0)", "Ja")]
    path = write_csv(tmp_path, GERMAN_HEADER, rows)
    assert refusal(path).startswith(f"{path}:3: investment 132 has the price 0")
