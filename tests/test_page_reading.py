"""A page's reading is a typed value; the JSON the store keeps stays the JSON older workspaces hold."""

from __future__ import annotations

import pytest

from hybrid.page_reading import BoxScore, CropRegion, Geometry, PageKind, PageReading, ReviewIdentification
from hybrid.states import MarkState
from ocr import page_result

# Readings as stored by scanned decks (copied from their hybrid.db `pages.reading`).
MARKED_WITH_RING = (
    '{"geometry":{"reprojection_error_mm":0.087,"scale":0.9854,"skew_degrees":-1.85,"rotated_180":false,'
    '"doubtful":false},"comment_ink":0.0,"comment_suggestion":null,"comment_confidence":null,"ocr_text":null,'
    '"boxes":[{"question":"q1","option":"a","number":1,"state":"marked","fill":0.2755,"ring_ink":0.0},'
    '{"question":"q1","option":"b","number":2,"state":"empty","fill":0.0,"ring_ink":0.0},'
    '{"question":"q2","option":"e","number":9,"state":"empty","fill":0.0,"ring_ink":0.0442}]}')
OCR_NOT_TRUSTED = (
    '{"geometry":{"reprojection_error_mm":0.075,"scale":0.9986,"skew_degrees":-0.37,"rotated_180":false,'
    '"doubtful":false},"comment_ink":0.0,"comment_suggestion":null,"comment_confidence":null,"ocr_text":null,'
    '"ocr_code_trusted":false,"boxes":[{"question":"q1","option":"c","number":3,"state":"marked","fill":0.5424,'
    '"ring_ink":0.0}]}')
COMMENT = (
    '{"geometry":{"reprojection_error_mm":0.0,"scale":0.997,"skew_degrees":-0.41,"rotated_180":false,'
    '"doubtful":false},"comment_ink":0.00882,"comment_suggestion":"Public toilets @’® badly needed",'
    '"comment_confidence":84.4,"ocr_text":null,"boxes":[]}')
UNREADABLE = (
    '{"geometry":{"reprojection_error_mm":0.0,"scale":1.0021,"skew_degrees":-0.34,"rotated_180":false,'
    '"doubtful":false},"comment_ink":0.0,"comment_suggestion":null,"comment_confidence":null,'
    '"ocr_text":"322393625200 Nr. 27 P","boxes":[]}')
NO_GEOMETRY = ('{"geometry":null,"comment_ink":0.0,"comment_suggestion":null,"comment_confidence":null,'
               '"ocr_text":null,"boxes":[]}')
IDENTIFIED_BY_REVIEW = (
    '{"geometry":{"reprojection_error_mm":0.0,"scale":1.0048,"skew_degrees":-0.47,"rotated_180":false,'
    '"doubtful":false},"comment_ink":0.0,"comment_suggestion":null,"comment_confidence":null,"ocr_text":"7",'
    '"boxes":[{"question":"q1","option":"a","number":1,"state":"empty","fill":null,"ring_ink":null,"by_review":true},'
    '{"question":"q1","option":"b","number":2,"state":"marked","fill":null,"ring_ink":null,"by_review":true}],'
    '"identified_by_review":{"decision_id":5,"reviewer":"Anna","confirmed_by":null}}')
NOTHING_READ = '{"boxes":[]}'  # a file that could not be opened


@pytest.mark.parametrize("stored", [MARKED_WITH_RING, OCR_NOT_TRUSTED, COMMENT, UNREADABLE, NO_GEOMETRY,
                                    IDENTIFIED_BY_REVIEW, NOTHING_READ])
def test_a_stored_reading_is_written_back_byte_for_byte(stored: str) -> None:
    assert PageReading.from_json(stored).to_json() == stored


def test_a_stored_reading_is_typed() -> None:
    reading = PageReading.from_json(MARKED_WITH_RING)
    assert reading.geometry == Geometry(0.087, 0.9854, -1.85, False, False)
    assert reading.boxes[0] == BoxScore("q1", "a", 1, MarkState.MARKED, 0.2755, 0.0)
    assert reading.boxes[2].ring_ink == 0.0442 and reading.ocr_code_trusted is None
    assert PageReading.from_json(OCR_NOT_TRUSTED).ocr_code_trusted is False
    comment = PageReading.from_json(COMMENT)
    assert (comment.comment_suggestion, comment.comment_confidence) == ("Public toilets @’® badly needed", 84.4)
    reviewed = PageReading.from_json(IDENTIFIED_BY_REVIEW)
    assert reviewed.identified_by_review == ReviewIdentification(5, "Anna", None)
    assert reviewed.boxes[1] == BoxScore("q1", "b", 2, MarkState.MARKED, None, None, by_review=True)


def test_an_older_reading_with_missing_keys_opens_with_defaults() -> None:
    """Readings written by test decks and early builds hold only some keys."""
    reading = PageReading.from_json('{"comment_suggestion":"Anmerkung 120","comment_confidence":91.0,"boxes":[]}')
    assert reading.comment_suggestion == "Anmerkung 120" and reading.geometry is None and reading.comment_ink == 0.0
    assert reading.review_crop is None and reading.boxes == ()
    for empty in (None, "", "{}"):
        nothing = PageReading.from_json(empty)
        assert nothing.boxes == () and nothing.comment_suggestion is None and not nothing.measured


def test_the_review_crop_region_travels_with_the_reading() -> None:
    reading = PageReading(review_crop=CropRegion((10.0, 52.0, 190.0, 140.5), 4.0))
    text = reading.to_json()
    assert '"review_crop":{"region_mm":[10.0,52.0,190.0,140.5],"px_per_mm":4.0}' in text
    assert PageReading.from_json(text) == reading


def test_scores_are_stored_rounded_as_before() -> None:
    box = BoxScore("q1", "a", 1, MarkState.MARGINAL, 0.123456, 0.0004999)
    assert '"fill":0.1235,"ring_ink":0.0' in PageReading(boxes=(box,)).to_json()


@pytest.mark.parametrize(("text", "names"), [
    ("[1, 2]", "a JSON object"),
    ("{not json", "not JSON"),
    ('{"boxes":[{"question":"q1","option":"a","number":1,"state":"smudged","fill":0.1}]}', "box 1"),
    ('{"geometry":{"scale":1.0},"boxes":[]}', "geometry"),
])
def test_a_broken_reading_is_refused_with_what_is_wrong(text: str, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        PageReading.from_json(text)


def test_the_reader_uses_the_hubs_kinds_and_geometry() -> None:
    """One PageKind and one Geometry: the reader's contract re-uses the hub's types."""
    assert page_result.PageKind is PageKind and page_result.Geometry is Geometry
    assert PageKind("unreadable") is PageKind.UNREADABLE and PageKind.BALLOT == "ballot"
