"""process.yaml in, a Process or one clear message out (DESIGN §3)."""

from __future__ import annotations

import re
import textwrap
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid.definition import Process
from hybrid.definition_file import load_process, parse_process
from hybrid.errors import ExitCode, InvalidInput

EXAMPLES = Path(__file__).resolve().parent.parent / "hybrid" / "examples"

POLL = textwrap.dedent(
    """\
    id: test-poll
    kind: poll
    title: {de: Umfrage, en: Poll}
    languages: [de, en]
    opens: 2027-03-01T00:00:00+01:00
    closes: 2027-04-01T00:00:00+02:00
    channels:
      paper: {return_address: "Rathaus, 97070 Würzburg"}
    questions:
      - id: q1
        text: {de: Frage, en: Question}
        options:
          - id: a
            text: {de: Ja, en: Yes}
          - id: b
            text: {de: Nein, en: No}
    """
)

BUDGET = textwrap.dedent(
    """\
    id: test-budget
    kind: budget
    title: {de: Haushalt, en: Budget}
    languages: [de, en]
    opens: 2027-03-01T00:00:00+01:00
    closes: 2027-04-01T00:00:00+02:00
    budget:
      heading: {name: Gesamtstadt, amount: 100000}
      voting_style: knapsack
      investments:
        - {id: 131, title: {de: Bänke}, price: 20000}
        - {id: 132, title: {de: Brunnen}, price: 30000}
    """
)


def write(tmp_path: Path, text: str | bytes, name: str = "process.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str | bytes) -> str:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as caught:
        load_process(path)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    assert caught.value.message.startswith(str(path))
    return caught.value.message


def where(message: str, path: str) -> tuple[int, int]:
    """(line, column) of the error line about field `path`."""
    for line in message.splitlines():
        found = re.match(r".*?:(\d+):(\d+): (\S+): ", line)
        if found and found.group(3) == path:
            return int(found.group(1)), int(found.group(2))
    raise AssertionError(f"no error about {path} in:\n{message}")


# --- the shipped examples ----------------------------------------------------------------


def test_poll_example_loads_with_three_questions_and_eleven_numbers():
    process = load_process(EXAMPLES / "poll.yaml")
    assert process.kind == "poll"
    assert [q.id for q in process.questions] == ["q1", "q2", "q3"]
    assert [q.max_choices for q in process.questions] == [1, 2, 1]
    assert [o.id for o in process.questions[2].options] == ["yes", "no"]
    assert [item.number for item in process.items()] == list(range(1, 12))
    assert process.channels.paper and process.channels.paper.return_by == date(2027, 5, 26)
    assert process.channels.sms and process.channels.voice
    assert process.consul.poll_id == 12


def test_budget_example_loads_with_consul_ids_and_prices_over_the_amount():
    process = load_process(EXAMPLES / "budget.yaml")
    assert process.kind == "budget" and process.budget is not None
    investments = process.budget.investments
    assert len(investments) >= 32
    assert investments[0].id == "131"
    assert all(isinstance(inv.id, str) and inv.id.isdigit() for inv in investments)
    assert all(5000 <= inv.price <= 180000 for inv in investments)
    assert sum(inv.price for inv in investments) > 2 * process.budget.heading.amount
    assert process.budget.heading.consul_id == 7 and process.budget.heading.amount == 500000
    assert all(inv.title.get("en") for inv in investments)
    assert len(process.items()) == len(investments)


# --- how YAML is read ----------------------------------------------------------------------


def test_option_id_no_stays_text(tmp_path):
    process = load_process(write(tmp_path, POLL.replace("- id: a", "- id: no").replace("- id: b", "- id: yes")))
    assert [o.id for o in process.questions[0].options] == ["no", "yes"]


def test_numeric_ids_are_kept_exactly_as_written(tmp_path):
    text = BUDGET.replace("id: 131,", "id: 0131,").replace("id: test-budget", "id: 2027")
    process = load_process(write(tmp_path, text))
    assert process.id == "2027"
    assert process.budget and [inv.id for inv in process.budget.investments] == ["0131", "132"]


def test_yes_no_on_off_are_text_not_booleans(tmp_path):
    text = POLL.replace("{de: Ja, en: Yes}", "{de: on, en: yes}").replace("{de: Nein, en: No}", "{de: off, en: n}")
    process = load_process(write(tmp_path, text))
    assert process.questions[0].options[0].text == {"de": "on", "en": "yes"}
    assert process.questions[0].options[1].text == {"de": "off", "en": "n"}


@pytest.mark.parametrize("word", ["true", "True", "FALSE", "tRuE"])
def test_true_and_false_in_any_case_are_booleans_and_refused_as_text(tmp_path, word):
    message = error(tmp_path, POLL.replace("en: Yes}", f"en: {word}}}"))
    assert where(message, "questions[0].options[0].text.en") == (14, 28)
    assert "should be text, not " + word.lower() in message
    assert "quotes" in message


def test_quoted_true_is_text(tmp_path):
    process = load_process(write(tmp_path, POLL.replace("en: Yes}", 'en: "true"}')))
    assert process.questions[0].options[0].text["en"] == "true"


def test_times_and_dates_come_through(tmp_path):
    text = POLL.replace("2027-03-01T00:00:00+01:00", '"2027-03-01T00:00:00+01:00"').replace(
        'paper: {return_address: "Rathaus, 97070 Würzburg"}',
        'paper: {return_address: "Rathaus, 97070 Würzburg", return_by: 2027-03-28}',
    )
    process = load_process(write(tmp_path, text))
    assert process.opens == datetime.fromisoformat("2027-03-01T00:00:00+01:00")
    assert process.closes.utcoffset().total_seconds() == 7200
    assert process.channels.paper and process.channels.paper.return_by == date(2027, 3, 28)


def test_parse_process_names_the_given_file():
    with pytest.raises(InvalidInput, match=r"^mine\.yaml:2:7: kind: "):
        parse_process(POLL.replace("kind: poll", "kind: pol"), "mine.yaml")
    assert parse_process(POLL, "mine.yaml").id == "test-poll"


def test_merge_keys_and_anchors_work(tmp_path):
    text = POLL.replace(
        "    text: {de: Frage, en: Question}\n", "    text: &q {de: Frage, en: Question}\n"
    ) + "comment: *q\n"
    process = load_process(write(tmp_path, text))
    assert process.comment == {"de": "Frage", "en": "Question"}


# --- errors that name file, line:column and field -----------------------------------------


def test_malformed_yaml_reports_line_and_column(tmp_path):
    message = error(tmp_path, POLL.replace("title: {de: Umfrage, en: Poll}", "title: {de: Umfrage, en: Poll"))
    assert re.match(rf"^{re.escape(str(tmp_path))}/process\.yaml:4:\d+: ", message)
    assert "flow mapping" in message


def test_bad_indentation_reports_its_line(tmp_path):
    message = error(tmp_path, POLL.replace("    options:\n", "   options:\n"))
    assert re.search(r"process\.yaml:12:\d+: ", message)


def test_tab_indentation_is_reported(tmp_path):
    message = error(tmp_path, POLL.replace("  paper:", "\tpaper:"))
    assert re.search(r"process\.yaml:8:1: .*'\\t'", message)


def test_duplicate_option_id_points_at_the_second_one(tmp_path):
    message = error(tmp_path, POLL.replace("- id: b", "- id: a"))
    assert where(message, "questions[0].options[1].id") == (15, 13)
    assert "duplicate option id 'a'" in message


def test_duplicate_question_id_points_at_the_second_one(tmp_path):
    second = textwrap.indent(POLL.split("questions:\n")[1], "")
    message = error(tmp_path, POLL + second)
    assert where(message, "questions[1].id") == (17, 9)
    assert "duplicate question id 'q1'" in message


def test_duplicate_investment_id(tmp_path):
    message = error(tmp_path, BUDGET.replace("id: 132", "id: 131"))
    assert where(message, "budget.investments[1].id") == (12, 12)
    assert "duplicate investment id '131'" in message


def test_missing_translation_names_the_text(tmp_path):
    message = error(tmp_path, POLL.replace("{de: Frage, en: Question}", "{de: Frage}"))
    assert where(message, "questions[0].text") == (11, 11)
    assert "question q1 has no 'en' text" in message


def test_price_over_heading_amount_points_at_the_price(tmp_path):
    message = error(tmp_path, BUDGET.replace("price: 30000", "price: 150000"))
    assert where(message, "budget.investments[1].price") == (12, 46)
    assert "costs 150000, more than the heading amount 100000" in message


def test_closes_before_opens(tmp_path):
    message = error(tmp_path, POLL.replace("closes: 2027-04-01", "closes: 2027-02-01"))
    assert where(message, "closes") == (6, 9)
    assert "closes must be after opens" in message


def test_phone_identity_with_paper(tmp_path):
    message = error(tmp_path, POLL.replace("channels:", "identity: phone\nchannels:"))
    assert where(message, "identity") == (7, 11)
    assert "paper" in message


def test_approval_without_max_lines(tmp_path):
    message = error(tmp_path, BUDGET.replace("voting_style: knapsack", "voting_style: approval"))
    assert where(message, "budget.max_lines") == (7, 1)  # the budget key: max_lines is not there
    assert "approval needs max_lines" in message


def test_unknown_key_points_at_the_key_and_suggests(tmp_path):
    message = error(tmp_path, POLL.replace("    options:", "    optoins:"))
    assert where(message, "questions[0].optoins") == (12, 5)
    assert "unknown key 'optoins' (did you mean 'options'?)" in message
    assert "questions[0].options: required, but missing" in message  # the other half of the typo


def test_wrong_kind(tmp_path):
    message = error(tmp_path, POLL.replace("kind: poll", "kind: survey"))
    assert where(message, "kind") == (2, 7)
    assert "'poll' or 'budget'" in message and "'survey'" in message


def test_missing_field_names_it(tmp_path):
    message = error(tmp_path, POLL.replace("title: {de: Umfrage, en: Poll}\n", ""))
    assert "title: required, but missing" in message
    assert ":1:1: title:" in message


def test_bad_process_id(tmp_path):
    message = error(tmp_path, POLL.replace("id: test-poll", "id: Test Poll"))
    assert where(message, "id") == (1, 5)
    assert "lowercase letters" in message


def test_bad_language_points_at_it(tmp_path):
    message = error(tmp_path, POLL.replace("[de, en]", "[de, English]"))
    assert where(message, "languages[1]") == (4, 17)


def test_several_errors_are_listed_in_file_order(tmp_path):
    text = POLL.replace("kind: poll", "kind: survey").replace("    options:", "    choices:")
    message = error(tmp_path, text)
    lines = [int(m.group(1)) for m in re.finditer(r"process\.yaml:(\d+):", message)]
    assert len(lines) >= 2 and lines == sorted(lines)


def test_key_given_twice(tmp_path):
    message = error(tmp_path, POLL + "kind: budget\n")
    assert where(message, "kind") == (17, 1)
    assert "given twice (first on line 2)" in message


def test_wrong_types_in_plain_words(tmp_path):
    message = error(tmp_path, POLL.replace("    options:", "    max_choices: many\n    options:"))
    assert where(message, "questions[0].max_choices") == (12, 18)
    assert "should be a whole number, not 'many'" in message


# --- files that cannot be read --------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InvalidInput, match="process.yaml: no such file"):
        load_process(tmp_path / "process.yaml")


def test_folder_instead_of_file(tmp_path):
    (tmp_path / "process.yaml").mkdir()
    with pytest.raises(InvalidInput, match="is a folder"):
        load_process(tmp_path / "process.yaml")


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    assert "empty" in error(tmp_path, text)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just words\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path, text):
    assert ":1:1: the top level must be a mapping" in error(tmp_path, text)


def test_not_utf8_names_the_line(tmp_path):
    raw = POLL.encode("utf-8").replace("Würzburg".encode(), "Würzburg".encode("latin-1"))
    message = error(tmp_path, raw)
    assert ":8:" in message and "UTF-8" in message


def test_utf8_bom_is_accepted(tmp_path):
    assert load_process(write(tmp_path, b"\xef\xbb\xbf" + POLL.encode())).id == "test-poll"


def test_unsafe_tags_are_refused(tmp_path):
    message = error(tmp_path, POLL.replace("title: {de: Umfrage, en: Poll}", "title: !!python/object:os.system {}"))
    assert ":3:8: " in message


def test_an_alias_that_contains_itself_is_refused(tmp_path):
    assert "alias" in error(tmp_path, POLL + "comment: &loop {de: *loop}\n")


# --- properties ------------------------------------------------------------------------------

_ids = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,39}", fullmatch=True).filter(
    lambda s: s.lower() != "null"
)


@given(first=_ids, second=_ids)
def test_any_valid_option_id_round_trips_as_written(first, second):
    text = POLL.replace("- id: a", "- id: <1>").replace("- id: b", "- id: <2>")
    text = text.replace("<1>", first).replace("<2>", second)
    if first == second:
        with pytest.raises(InvalidInput, match="duplicate option id"):
            parse_process(text, "p.yaml")
    else:
        assert [o.id for o in parse_process(text, "p.yaml").questions[0].options] == [first, second]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_edit_gives_a_process_or_one_invalid_input(data):
    """A mangled file never escapes as anything but InvalidInput, whose every line is located."""
    source = data.draw(st.sampled_from([POLL, BUDGET]))
    lines = source.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(lines) - 1))
        edit = data.draw(st.sampled_from(["drop", "replace", "insert"]))
        if edit == "drop":
            del lines[index]
        else:
            junk = data.draw(st.text(alphabet=" :-{}[],#&*!|>'\"\tabc01yesno\n", max_size=12))
            if edit == "replace" and lines[index]:
                at = data.draw(st.integers(0, len(lines[index]) - 1))
                lines[index] = lines[index][:at] + junk + lines[index][at + 1 :]
            else:
                lines.insert(index, junk)
        if not lines:
            break
    try:
        assert isinstance(parse_process("".join(lines), "p.yaml"), Process)
    except InvalidInput as exc:
        for line in exc.message.splitlines():
            assert line.startswith("p.yaml:") or line.startswith("… and ")


@pytest.mark.parametrize("key", ["1", "true", "~"])
def test_keys_that_are_not_names(tmp_path, key):
    message = error(tmp_path, POLL + f"{key}: x\n")
    assert f":17:1: key '{key}' must be a name" in message


def test_unprintable_character_names_its_place(tmp_path):
    assert ":3:16: character #x0007" in error(tmp_path, POLL.replace("Umfrage", "Umf\x07rage"))


def test_impossible_date_names_its_place(tmp_path):
    message = error(tmp_path, POLL.replace("closes: 2027-04-01", "closes: 2027-02-30"))
    assert ":6:9: closes: '2027-02-30T00:00:00+02:00' cannot be read: day is out of range" in message
