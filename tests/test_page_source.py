"""Reading returned paper: files and folders in, one page at a time out (DESIGN §6).

Staff drop whatever the scanner, the office copier or a citizen's phone produced into a
folder. Every real-world PDF shape is built here byte by byte (tests/fixtures/
make_pdf_shapes.py): a scanner's full-page JPEGs go to the workers untouched, a fax-style
CCITT or JBIG2 page is decoded at its own resolution, and everything else — a rotated
page, a cropped picture, an MRC page of several layers, a page of vector art, an unusual
JPEG — is rendered at 300 DPI as a viewer shows it. Bad inputs each come back as one
clear problem naming the file (and page), never as a crash, and a 2,000-page PDF streams
through with flat memory.
"""

from __future__ import annotations

import os
import pickle
import struct
import time
import tracemalloc
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from fixtures.make_pdf_shapes import (
    A4_PT,
    JBIG2_SOURCE,
    Page,
    PdfBuilder,
    Placed,
    XImage,
    ballot_like,
    ccitt_image,
    flate_image,
    full_page,
    jpeg_bytes,
    jpeg_image,
    write_jbig2_pdf,
    write_pdf,
)
from PIL import Image, ImageOps

import ocr.page_source as page_source
from ocr.page_source import (
    MAX_PIXELS,
    FileKind,
    InputFile,
    InputProblem,
    PageInput,
    discover,
    iter_pages,
    load_page_image,
    sha256_file,
)

SCAN_PX = (620, 877)  # an A4 page at 75 DPI keeps the fixtures small and the tests fast


def the_file(path: Path) -> InputFile:
    (found,) = discover([path])
    return found


def pages_of(path: Path) -> list[PageInput]:
    return list(iter_pages(the_file(path)))


def only_page(path: Path) -> PageInput:
    (page,) = pages_of(path)
    return page


def bilevel(img: Image.Image) -> Image.Image:
    """Black and white without dithering, so a lossless 1-bit codec must give it back exactly."""
    return img.convert("L").point(lambda v: 255 if v > 127 else 0)


def rendered_in_document(path: Path, index: int) -> np.ndarray:
    """The page rendered at 300 DPI inside its whole document: what a viewer shows."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return pdf[index].render(scale=300 / 72, grayscale=True).to_numpy().copy()
    finally:
        pdf.close()


def similar(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference after bringing `a` to `b`'s size (0 = identical)."""
    if a.shape != b.shape:
        a = cv2.resize(a, (b.shape[1], b.shape[0]), interpolation=cv2.INTER_AREA)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# -- discovery -------------------------------------------------------------------------


def test_a_folder_is_walked_in_natural_order_without_hidden_files_or_our_own_outputs(tmp_path: Path):
    tray = tmp_path / "tray-1"
    (tray / "late").mkdir(parents=True)
    (tray / ".git").mkdir()
    jpeg = jpeg_bytes(ballot_like((124, 175)))
    for name in ("scan10.jpg", "scan2.jpg", "Scan1.JPG", "late/scan1.jpg", ".hidden.jpg", ".git/obj.jpg"):
        (tray / name).write_bytes(jpeg)
    (tray / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0 windows thumbnails")
    (tray / "ballots-de.layout.json").write_text("{}")
    # a workspace inside: its definition, store, archive and print output are not scans
    ws = tray / "ws"
    (ws / "scans").mkdir(parents=True)
    (ws / "out").mkdir()
    (ws / "process.yaml").write_text("id: wue-test\n")
    (ws / "hybrid.db").write_bytes(b"SQLite format 3\x00")
    (ws / "scans" / "ab12.jpg").write_bytes(jpeg)
    (ws / "out" / "ballots-de-000001.pdf").write_bytes(b"%PDF-1.7\n")
    (ws / "returns.jpg").write_bytes(jpeg)

    found = discover([tray])

    assert [f.name for f in found] == [
        "tray-1/late/scan1.jpg",
        "tray-1/Scan1.JPG",
        "tray-1/scan2.jpg",
        "tray-1/scan10.jpg",
        "tray-1/ws/returns.jpg",
    ]
    assert all(f.kind is FileKind.JPEG and f.problem is None for f in found)


def test_files_are_recognised_by_content_and_others_named_with_a_reason(tmp_path: Path):
    (tmp_path / "scan.pdf").write_bytes(jpeg_bytes(ballot_like((124, 175))))  # a JPEG with the wrong name
    (tmp_path / "notes.png").write_text("Bitte die Stimmzettel von Fach 3 zuerst scannen.\n", encoding="utf-8")
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "IMG_0042.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    (tmp_path / "scans.zip").write_bytes(b"PK\x03\x04" + bytes(64))
    (tmp_path / "blob.png").write_bytes(bytes(range(256)) * 4)

    found = {f.name.split("/")[-1]: f for f in discover([tmp_path])}

    assert found["scan.pdf"].kind is FileKind.JPEG and found["scan.pdf"].problem is None
    assert found["notes.png"].problem == f"{tmp_path.name}/notes.png: not an image (looks like text)"
    assert found["empty.pdf"].problem.endswith("empty.pdf: empty file (0 bytes)")
    assert "HEIC" in found["IMG_0042.heic"].problem and "JPEG" in found["IMG_0042.heic"].problem
    assert "ZIP archive" in found["scans.zip"].problem
    assert "not a PDF, TIFF, PNG or JPEG" in found["blob.png"].problem
    for name in ("notes.png", "empty.pdf"):
        assert found[name].kind is None
        with pytest.raises(InputProblem, match=name):
            list(iter_pages(found[name]))


def test_a_file_given_twice_is_read_once_and_a_missing_path_is_refused_up_front(tmp_path: Path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(ballot_like((124, 175))))
    assert [f.name for f in discover([photo, tmp_path])] == [str(photo)]
    with pytest.raises(InputProblem, match="tray-2: no such file or folder"):
        discover([photo, tmp_path / "tray-2"])


def test_sha256_is_streamed_and_matches_hashlib(tmp_path: Path):
    import hashlib

    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path, chunk=4096) == hashlib.sha256(data).hexdigest()


# -- PDF shapes that pass their embedded image on ------------------------------------------


def test_a_scanner_pdf_of_full_page_jpegs_hands_over_the_jpeg_bytes_untouched(tmp_path: Path):
    gray = jpeg_image(ballot_like(SCAN_PX, seed=1))
    colour = jpeg_image(ballot_like(SCAN_PX, mode="RGB", seed=2))
    path = write_pdf(tmp_path / "scan.pdf", [Page(images=[full_page(gray)]), Page(images=[full_page(colour)])])

    pages = pages_of(path)

    assert [(p.page_no, p.page_count, p.kind, p.origin) for p in pages] == [
        (1, 2, "jpeg", "pdf jpeg"),
        (2, 2, "jpeg", "pdf jpeg"),
    ]
    assert pages[0].data == gray.data and pages[1].data == colour.data  # byte for byte
    assert pages[0].pixels is None and pages[0].dpi == pytest.approx(75, abs=0.1)
    assert pages[0].sha256 == sha256_file(path) and pages[0].source == f"scan:{pages[0].sha256}#p1"
    image = load_page_image(pages[0])
    assert image.shape == (SCAN_PX[1], SCAN_PX[0]) and image.dtype == np.uint8
    assert np.array_equal(image, cv2.imdecode(np.frombuffer(gray.data, np.uint8), cv2.IMREAD_GRAYSCALE))


def test_a_scanner_pdf_whose_cross_reference_table_is_broken_still_goes_direct(tmp_path: Path):
    # Over 2 GiB, or with a damaged xref, pdfminer rebuilds the file's index by scanning it
    # and then keeps an end-of-line byte in each stream: the declared /Length must decide.
    gray = jpeg_image(ballot_like(SCAN_PX, seed=1))
    path = write_pdf(tmp_path / "scan.pdf", [Page(images=[full_page(gray)]), Page(images=[full_page(gray)])])
    data = path.read_bytes()
    at = data.rindex(b"startxref") + len(b"startxref\n")
    end = data.index(b"\n", at)
    path.write_bytes(data[:at] + str(int(data[at:end]) + 7).encode() + data[end:])  # points into nowhere

    pages = pages_of(path)

    assert [(p.kind, p.origin) for p in pages] == [("jpeg", "pdf jpeg"), ("jpeg", "pdf jpeg")]
    assert pages[0].data == gray.data


def test_an_invisible_ocr_text_layer_does_not_stop_the_direct_path_but_visible_text_does(tmp_path: Path):
    scan = jpeg_image(ballot_like(SCAN_PX))
    ocr_layer = "BT 3 Tr /F1 12 Tf 72 700 Td (Buergerhaushalt) Tj ET"
    stamp = "BT /F1 24 Tf 300 800 Td (EINGANG 12.03.2027) Tj ET"
    path = write_pdf(
        tmp_path / "ocred.pdf",
        [
            Page(images=[full_page(scan)], content_after=ocr_layer, with_font=True),
            Page(images=[full_page(scan)], content_after=stamp, with_font=True),
            Page(images=[full_page(scan)], content_before="0 0 1 rg 0 0 595 842 re f"),  # hidden under the scan
        ],
    )
    first, second, third = pages_of(path)
    assert first.kind == "jpeg" and first.data == scan.data
    assert second.kind == "pdf" and second.origin == "pdf render: text or drawing over the image"
    assert third.kind == "jpeg"


def test_a_jpeg_wrapped_in_flate_is_still_passed_on_as_jpeg(tmp_path: Path):
    scan = jpeg_image(ballot_like(SCAN_PX))
    wrapped = XImage(scan.width, scan.height, zlib.compress(scan.data), "[/FlateDecode /DCTDecode]")
    page = only_page(write_pdf(tmp_path / "wrapped.pdf", [Page(images=[full_page(wrapped)])]))
    assert page.kind == "jpeg" and page.data == scan.data


def test_an_icc_based_gray_jpeg_goes_direct_but_one_whose_components_disagree_is_rendered(tmp_path: Path):
    scan = ballot_like(SCAN_PX)
    path = tmp_path / "icc.pdf"
    with open(path, "wb") as fh:
        builder = PdfBuilder(fh)
        icc = builder._reserve()
        builder._stream(icc, "/N 1 /Alternate /DeviceGray", b"\x00" * 128)  # the profile's bytes do not matter here
        builder.add_page(
            Page(
                images=[
                    full_page(XImage(scan.width, scan.height, jpeg_bytes(scan), "/DCTDecode", f"[/ICCBased {icc} 0 R]"))
                ]
            )
        )
        builder.add_page(
            Page(images=[full_page(XImage(scan.width, scan.height, jpeg_bytes(scan.convert("RGB")), "/DCTDecode"))])
        )
        builder.finish()
    icc_page, mismatch = pages_of(path)
    assert icc_page.kind == "jpeg"
    assert mismatch.origin == "pdf render: embedded JPEG data unusual (header, bit depth, size or components)"


def test_a_flate_page_is_decoded_by_pdfium_exactly(tmp_path: Path):
    source = ballot_like(SCAN_PX)
    page = only_page(write_pdf(tmp_path / "flate.pdf", [Page(images=[full_page(flate_image(source))])]))
    assert page.origin == "pdf image: single full-page uncompressed/Flate image"
    assert np.array_equal(load_page_image(page), np.array(source))


def test_a_ccitt_g4_page_is_decoded_by_pdfium_at_its_own_resolution(tmp_path: Path):
    source = bilevel(ballot_like(SCAN_PX))
    page = only_page(write_pdf(tmp_path / "fax.pdf", [Page(images=[full_page(ccitt_image(source))])]))
    assert page.kind == "gray" and page.origin.startswith("pdf image: single full-page CCITTFaxDecode")
    assert page.dpi == pytest.approx(75, abs=0.1)
    assert np.array_equal(load_page_image(page), np.array(source))


def test_a_jbig2_page_is_decoded_by_pdfium_generic_region_and_symbol_mode_with_globals(tmp_path: Path):
    source = np.array(Image.open(JBIG2_SOURCE).convert("L"))
    generic = only_page(write_jbig2_pdf(tmp_path / "generic.pdf", symbol_mode=False))
    symbols = only_page(write_jbig2_pdf(tmp_path / "symbols.pdf", symbol_mode=True))
    assert generic.origin.startswith("pdf image: single full-page JBIG2Decode") and generic.dpi == pytest.approx(150)
    assert np.array_equal(load_page_image(generic), source)  # jbig2enc's generic region is lossless
    # symbol mode replaces look-alike glyphs by one drawing of them: lossy by design
    assert (load_page_image(symbols) == source).mean() > 0.999


# -- PDF shapes that are rendered ------------------------------------------------------------


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_a_rotated_page_is_rendered_upright_as_a_viewer_shows_it(tmp_path: Path, rotate: int):
    source = ballot_like(SCAN_PX)
    page = only_page(write_pdf(tmp_path / "rotated.pdf", [Page(images=[full_page(jpeg_image(source))], rotate=rotate)]))
    assert page.kind == "pdf" and page.origin == f"pdf render: page rotated by /Rotate {rotate}"
    assert page.dpi == 300
    image = load_page_image(page)
    assert image.shape == ((2481, 3508) if rotate in (90, 270) else (3508, 2481))
    shown = np.rot90(np.array(source), k=-rotate // 90)  # /Rotate turns the page clockwise for display
    right, upside_down = similar(image, shown), similar(image, np.rot90(shown, 2))
    assert right < 2 and upside_down > 4 * right


def test_cropped_or_partial_images_are_rendered(tmp_path: Path):
    scan = jpeg_image(ballot_like(SCAN_PX))
    w, h = A4_PT
    pages = pages_of(
        write_pdf(
            tmp_path / "cropped.pdf",
            [
                Page(
                    images=[Placed(scan, (w * 0.8, 0, 0, h * 0.8, w * 0.1, h * 0.1))]
                ),  # a smaller picture on the page
                Page(images=[Placed(scan, (w * 1.2, 0, 0, h * 1.2, -w * 0.1, -h * 0.1))]),  # larger: edges cut off
                Page(images=[full_page(scan)], cropbox=(0, 0, w, h * 0.5)),  # the page shows only half
                Page(images=[full_page(scan)], content_before="0 0 300 400 re W n"),  # clipped
                Page(images=[Placed(scan, (w, 0, 0, h * 1.005, 0, 0))]),  # within 1 %: still the direct path
                Page(
                    images=[full_page(scan)], content_before=f"0 0 {w} {h} re W n"
                ),  # a clip of the whole page is no clip
            ],
        )
    )
    assert [p.origin for p in pages[:3]] == ["pdf render: image does not cover the whole page (cropped or partial)"] * 3
    assert pages[3].origin == "pdf render: image clipped"
    assert pages[4].kind == "jpeg" and pages[5].kind == "jpeg"
    small = load_page_image(pages[0])
    assert small[50, 50] > 250 and small.shape == (3508, 2481)  # white margin around the smaller picture
    assert load_page_image(pages[2]).shape == (1754, 2481)


def test_an_mrc_page_of_several_images_is_rendered_with_all_its_layers(tmp_path: Path):
    background = jpeg_image(Image.new("L", (124, 175), 235))  # the paper, coarse
    text_layer = bilevel(ballot_like(SCAN_PX))
    mask = ccitt_image(text_layer)
    # the foreground: a 1-bit stencil mask painted black, as MRC compressors write it
    stencil = XImage(mask.width, mask.height, mask.data, mask.filter, None, 1, mask.extra + " /ImageMask true")
    page = only_page(write_pdf(tmp_path / "mrc.pdf", [Page(images=[full_page(background), full_page(stencil)])]))
    assert page.origin == "pdf render: several images on the page (MRC or collage)"
    image = load_page_image(page)
    assert similar(image, np.where(np.array(text_layer) < 128, 0, 235).astype(np.uint8)) < 8


def test_a_page_without_images_is_rendered(tmp_path: Path):
    art = "0 0 0 rg 100 600 200 100 re f BT /F1 24 Tf 100 500 Td (Stimmzettel) Tj ET"
    page = only_page(write_pdf(tmp_path / "vector.pdf", [Page(content_after=art, with_font=True)]))
    assert page.origin == "pdf render: no image on the page (vector or text)"
    image = load_page_image(page)
    assert image.shape == (3508, 2481) and page.dpi == 300
    x, y = int(200 / 72 * 300), int((842 - 650) / 72 * 300)
    assert image[y, x] < 10 and image[100, 100] > 250


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (lambda s: jpeg_image(s.convert("CMYK")), "image with a /Decode array"),
        (
            lambda s: XImage(s.width, s.height, jpeg_bytes(s.convert("CMYK")), "/DCTDecode", "/DeviceCMYK"),
            "JPEG in colour space DeviceCMYK",
        ),
        (
            lambda s: XImage(s.width, s.height, jpeg_bytes(s), "/DCTDecode", extra="/Decode [1 0]"),
            "image with a /Decode array",
        ),
        (
            lambda s: XImage(s.width, s.height, jpeg_bytes(s), "/DCTDecode", smask=flate_image(s)),
            "image with a mask (transparency)",
        ),
        (
            lambda s: XImage(
                s.width, s.height, jpeg_bytes(s), "/DCTDecode", extra="/DecodeParms << /ColorTransform 0 >>"
            ),
            "JPEG with a /ColorTransform",
        ),
        (
            lambda s: XImage(s.width, s.height, jpeg_bytes(s), "/DCTDecode", "[/Indexed /DeviceRGB 0 <000000>]"),
            "JPEG in colour space Indexed",
        ),
        (
            lambda s: XImage(s.width, s.height // 2, jpeg_bytes(s.resize((s.width, s.height // 2))), "/DCTDecode"),
            "non-square pixels",
        ),
    ],
    ids=["cmyk-adobe", "cmyk", "decode", "smask", "color-transform", "indexed", "fax-pixels"],
)
def test_unusual_jpegs_are_rendered_rather_than_trusted(tmp_path: Path, image, reason: str):
    page = only_page(write_pdf(tmp_path / "odd.pdf", [Page(images=[full_page(image(ballot_like(SCAN_PX)))])]))
    assert page.kind == "pdf" and page.origin.startswith(f"pdf render: {reason}")


def test_annotations_and_form_xobjects_are_rendered_but_a_link_is_harmless(tmp_path: Path):
    scan = jpeg_image(ballot_like(SCAN_PX))
    note = "/Annots [<< /Type /Annot /Subtype /Square /Rect [100 100 300 300] /C [1 0 0] /Border [0 0 5] >>]"
    link = "/Annots [<< /Type /Annot /Subtype /Link /Rect [100 100 300 300] /Border [0 0 0] >>]"
    stamped, linked, wrapped = pages_of(
        write_pdf(
            tmp_path / "annots.pdf",
            [
                Page(images=[full_page(scan)], page_extra=note),
                Page(images=[full_page(scan)], page_extra=link),
                Page(images=[full_page(scan)], in_form=True),
            ],
        )
    )
    assert stamped.origin == "pdf render: annotations drawn on the page"
    assert linked.kind == "jpeg"
    assert wrapped.origin == "pdf render: image inside a form XObject"


def test_a_mirrored_image_is_rendered(tmp_path: Path):
    w, h = A4_PT
    page = only_page(
        write_pdf(
            tmp_path / "mirror.pdf", [Page(images=[Placed(jpeg_image(ballot_like(SCAN_PX)), (w, 0, 0, -h, 0, h))])]
        )
    )
    assert page.origin == "pdf render: image rotated, skewed or mirrored on the page"


def test_the_cmyk_jpeg_renders_as_it_looks(tmp_path: Path):
    source = ballot_like(SCAN_PX)
    page = only_page(write_pdf(tmp_path / "cmyk.pdf", [Page(images=[full_page(jpeg_image(source.convert("CMYK")))])]))
    assert similar(load_page_image(page), np.array(source)) < 6


def test_pages_to_render_travel_as_one_page_pdfs_that_render_exactly_as_in_their_document(tmp_path: Path):
    scan = jpeg_image(ballot_like(SCAN_PX))
    w, h = A4_PT
    art = "0 0 0 rg 100 600 200 100 re f BT /F1 24 Tf 100 500 Td (Stimmzettel) Tj ET"
    note = "/Annots [<< /Type /Annot /Subtype /Square /Rect [100 100 300 300] /C [1 0 0] /Border [0 0 5] >>]"
    path = write_pdf(
        tmp_path / "shapes.pdf",
        [
            Page(images=[full_page(scan)], rotate=90),
            Page(images=[Placed(scan, (w * 0.8, 0, 0, h * 0.8, w * 0.1, h * 0.1))], cropbox=(0, 0, w, h * 0.7)),
            Page(images=[full_page(scan)], content_after=art, with_font=True),
            Page(images=[full_page(scan)], page_extra=note),
            Page(content_after=art, with_font=True),
        ],
    )
    pages = pages_of(path)
    assert all(p.kind == "pdf" and p.pixels is None for p in pages)
    for index, page in enumerate(pages):
        assert len(pickle.dumps(page)) < len(scan.data) + 8_000  # not 8.7 MB of pixels
        assert np.array_equal(load_page_image(page), rendered_in_document(path, index))


def test_a_document_with_layers_is_rendered_in_place(tmp_path: Path):
    """A page cut out of its document would lose the catalog's layer settings (/OCProperties)."""
    scan = jpeg_image(ballot_like(SCAN_PX))
    layers = "/OCProperties << /OCGs [] /D << /Order [] >> >>"
    path = write_pdf(tmp_path / "layers.pdf", [Page(images=[full_page(scan)], rotate=90)], catalog_extra=layers)
    page = only_page(path)
    assert page.kind == "gray" and page.origin == "pdf render: page rotated by /Rotate 90"
    assert np.array_equal(load_page_image(page), rendered_in_document(path, 0))


# -- bad PDFs: one clear problem each, never a crash ------------------------------------------


def _good_pdf(path: Path, pages: int = 3) -> Path:
    scan = jpeg_image(ballot_like((124, 175)))
    return write_pdf(path, [Page(images=[full_page(scan)]) for _ in range(pages)])


def test_corrupt_truncated_and_empty_pdfs_are_refused_with_the_file_name(tmp_path: Path):
    good = _good_pdf(tmp_path / "good.pdf").read_bytes()
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    (tmp_path / "truncated.pdf").write_bytes(good[: len(good) // 2])
    write_pdf(tmp_path / "nopages.pdf", [])
    expected = {
        "corrupt.pdf": "corrupt.pdf: damaged PDF",
        "truncated.pdf": "truncated.pdf: truncated PDF",
        "nopages.pdf": "nopages.pdf: PDF without pages",
    }
    for name, message in expected.items():
        with pytest.raises(InputProblem, match=message):
            list(iter_pages(the_file(tmp_path / name)))


def test_a_password_protected_pdf_is_refused_but_a_permissions_only_one_is_read(tmp_path: Path):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen.canvas import Canvas

    for name, user_password in (("locked.pdf", "geheim"), ("permissions.pdf", "")):
        canvas = Canvas(
            str(tmp_path / name), encrypt=StandardEncryption(user_password, ownerPassword="owner", canModify=0)
        )
        canvas.drawString(100, 700, "Stimmzettel")
        canvas.showPage()
        canvas.save()
    with pytest.raises(InputProblem, match="locked.pdf: password-protected PDF"):
        list(iter_pages(the_file(tmp_path / "locked.pdf")))
    readable = only_page(tmp_path / "permissions.pdf")
    assert readable.kind == "pdf" and b"/Encrypt" not in readable.data  # the page travels decrypted
    assert np.array_equal(load_page_image(readable), rendered_in_document(tmp_path / "permissions.pdf", 0))


def test_our_own_print_file_is_refused_because_it_holds_unused_codes(tmp_path: Path):
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(tmp_path / "ballots-de-000001.pdf"))
    canvas.setCreator("hybrid")
    canvas.rect(50, 50, 20, 20, fill=1)
    canvas.showPage()
    canvas.save()
    with pytest.raises(InputProblem, match="made by `hybrid print`, not a scan"):
        list(iter_pages(the_file(tmp_path / "ballots-de-000001.pdf")))


def test_oversized_pdf_pages_are_refused_before_decoding_and_the_other_pages_still_come(tmp_path: Path):
    small = jpeg_bytes(ballot_like((124, 175)))
    claims_huge = XImage(20_000, 20_000, small, "/DCTDecode")  # a dictionary that claims 400 megapixels
    path = write_pdf(
        tmp_path / "mixed.pdf",
        [
            Page(images=[full_page(claims_huge)]),
            Page(size=(14_400, 14_400)),  # 200 × 200 inches: 3.6 gigapixels at 300 DPI
            Page(images=[full_page(XImage(124, 175, small, "/DCTDecode"))]),
        ],
    )
    first, second, third = pages_of(path)
    assert first.kind is None and "mixed.pdf page 1: holds an image of 20000 × 20000 pixels" in first.problem
    assert second.kind is None and "mixed.pdf page 2: page of 5080 × 5080 mm needs 3600 megapixels" in second.problem
    assert third.kind == "jpeg" and third.problem is None
    with pytest.raises(InputProblem, match="mixed.pdf page 1"):
        load_page_image(first)


def test_a_damaged_page_is_reported_in_its_place_and_the_rest_of_the_pdf_is_read(tmp_path: Path):
    path = tmp_path / "damaged.pdf"
    scan = jpeg_image(ballot_like((124, 175)))
    with open(path, "wb") as fh:
        builder = PdfBuilder(fh)
        for _ in range(3):
            builder.add_page(Page(images=[full_page(scan)]))
        builder.page_nums[1] = 999  # the page tree points at an object that is not there
        builder.finish()
    pages = pages_of(path)
    assert [(p.page_no, p.page_count, p.problem is None) for p in pages] == [(1, 3, True), (2, 3, False), (3, 3, True)]
    assert "damaged.pdf page 2: cannot be read" in pages[1].problem
    assert pages[0].kind == "jpeg" and load_page_image(pages[2]).shape[0] > 0


def test_a_page_that_fails_in_pdfium_does_not_stop_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real = page_source.page_image

    def flaky(page, dictionaries, index, **kwargs):
        if index == 1:
            raise RuntimeError("pdfium gave up")
        return real(page, dictionaries, index, **kwargs)

    monkeypatch.setattr(page_source, "page_image", flaky)
    pages = pages_of(_good_pdf(tmp_path / "flaky.pdf"))
    assert [p.problem for p in pages] == [
        None,
        f"{tmp_path}/flaky.pdf page 2: cannot be read (RuntimeError: pdfium gave up)",
        None,
    ]


# -- TIFF, PNG, JPEG ---------------------------------------------------------------------------


def test_a_multi_page_tiff_gives_every_page_in_order(tmp_path: Path):
    sources = [bilevel(ballot_like(SCAN_PX, seed=i)) for i in range(3)]
    path = tmp_path / "tray.tif"
    first = sources[0].convert("1")
    first.save(
        path, save_all=True, append_images=[s.convert("1") for s in sources[1:]], compression="group4", dpi=(75, 75)
    )
    pages = pages_of(path)
    assert [(p.page_no, p.page_count, p.kind, p.origin) for p in pages] == [(n, 3, "gray", "tiff") for n in (1, 2, 3)]
    for page, source in zip(pages, sources):
        assert np.array_equal(load_page_image(page), np.array(source))
    assert pages[0].dpi == 75


def test_a_tiff_with_a_broken_page_gives_the_good_pages_and_names_the_bad_one(tmp_path: Path):
    sources = [ballot_like((300, 424), seed=i) for i in range(3)]
    path = tmp_path / "tray.tif"
    sources[0].save(path, save_all=True, append_images=sources[1:], compression="tiff_deflate")
    with Image.open(path) as tif:
        tif.seek(1)
        strips = list(zip(tif.tag_v2[273], tif.tag_v2[279]))
    data = bytearray(path.read_bytes())
    for offset, count in strips:
        data[offset : offset + count] = bytes((i * 37 + 11) % 256 for i in range(count))
    path.write_bytes(bytes(data))

    pages = pages_of(path)

    assert [(p.page_no, p.kind) for p in pages] == [(1, "gray"), (2, None), (3, "gray")]
    assert pages[1].problem.startswith(f"{path} page 2: cannot be decoded")
    assert np.array_equal(load_page_image(pages[2]), np.array(sources[2]))


def test_a_tiff_whose_page_chain_breaks_gives_the_pages_before_the_break_and_names_the_lost_one(tmp_path: Path):
    sources = [ballot_like((300, 424), seed=i) for i in range(3)]
    path = tmp_path / "chain.tif"
    sources[0].save(path, save_all=True, append_images=sources[1:], compression="packbits")
    data = bytearray(path.read_bytes())
    ifd = struct.unpack("<I", data[4:8])[0]
    ifd = struct.unpack("<I", data[ifd + 2 + 12 * struct.unpack("<H", data[ifd : ifd + 2])[0] :][:4])[0]  # page 2
    link = ifd + 2 + 12 * struct.unpack("<H", data[ifd : ifd + 2])[0]
    data[link : link + 4] = struct.pack("<I", len(data) + 1000)  # page 2 → page 3 points past the end
    path.write_bytes(bytes(data))

    pages = pages_of(path)

    assert [(p.page_no, p.page_count, p.kind) for p in pages] == [(1, None, "gray"), (2, None, "gray"), (3, None, None)]
    assert pages[2].problem.startswith(f"{path} page 3: damaged page directory")
    assert np.array_equal(load_page_image(pages[1]), np.array(sources[1]))


def test_a_fax_tiff_with_non_square_pixels_is_stretched_to_square(tmp_path: Path):
    source = bilevel(ballot_like((816, 1144)))  # 4 × 5.6 inches at 204 DPI …
    fax = source.resize((816, 1144 * 98 // 204)).convert("1")  # … stored at 204 × 98 DPI
    path = tmp_path / "fax.tif"
    fax.save(path, compression="group3", dpi=(204, 98))
    page = only_page(path)
    assert load_page_image(page).shape == (round(fax.height * 204 / 98), 816) and page.dpi == 204


def test_png_pages_go_as_bytes_and_transparency_is_laid_over_white_paper(tmp_path: Path):
    source = ballot_like(SCAN_PX)
    source.save(tmp_path / "gray.png")
    rgba = Image.new("RGBA", SCAN_PX, (0, 0, 0, 0))  # transparent black: must not become a black page
    rgba.paste(Image.merge("RGBA", [Image.new("L", SCAN_PX, 0)] * 3 + [ImageOps.invert(source)]))
    rgba.save(tmp_path / "screenshot.png")
    deep = Image.fromarray(np.array(source).astype(np.uint16) * 257)
    deep.save(tmp_path / "deep.png")

    gray, deep_page, shot = (only_page(tmp_path / n) for n in ("gray.png", "deep.png", "screenshot.png"))

    assert gray.kind == "png" and gray.data == (tmp_path / "gray.png").read_bytes()
    assert np.array_equal(load_page_image(gray), np.array(source))
    assert similar(load_page_image(deep_page), np.array(source)) < 1
    assert shot.kind == "gray" and similar(load_page_image(shot), np.array(source)) < 2


def test_a_damaged_png_is_refused(tmp_path: Path):
    ballot_like(SCAN_PX).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputProblem, match="cut.png: damaged PNG"):
        list(iter_pages(the_file(tmp_path / "cut.png")))


def _big_png(path: Path, width: int, height: int) -> None:
    """A valid 1-bit PNG of any size, compressed row by row without holding it in memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    idat = bytearray()
    for _ in range(height // 1000):
        idat += compressor.compress(row * 1000)
    idat += compressor.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", bytes(idat))
        + chunk(b"IEND", b"")
    )


def test_a_20000_by_20000_image_is_refused_from_its_header_before_decoding(tmp_path: Path):
    _big_png(tmp_path / "poster.png", 20_000, 20_000)
    small = jpeg_bytes(ballot_like((124, 175)))
    sof = small.index(b"\xff\xc0")
    huge_jpeg = small[: sof + 5] + struct.pack(">HH", 20_000, 20_000) + small[sof + 9 :]
    (tmp_path / "poster.jpg").write_bytes(huge_jpeg)
    assert (tmp_path / "poster.png").stat().st_size < 200_000

    tracemalloc.start()
    started = time.perf_counter()
    for name in ("poster.png", "poster.jpg"):
        with pytest.raises(
            InputProblem, match=rf"{name}: 20000 × 20000 pixels \(400 megapixels\) is more than the limit of 120"
        ):
            list(iter_pages(the_file(tmp_path / name)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000 and time.perf_counter() - started < 2  # nothing was decoded

    # a worker checks the header again before it decodes bytes it was handed
    forged = PageInput(tmp_path / "poster.jpg", "poster.jpg", "0" * 64, 1, 1, "jpeg", data=huge_jpeg)
    with pytest.raises(InputProblem, match="poster.jpg page 1: 20000 × 20000 pixels"):
        load_page_image(forged)
    assert MAX_PIXELS == 120_000_000


def _upright_asymmetric() -> Image.Image:
    img = Image.new("L", (240, 160), 255)
    img.paste(0, (10, 10, 60, 40))  # a black block at the top left says which way is up
    img.paste(128, (180, 120, 230, 150))
    return img


_TO_STORED = {  # how a camera stores an upright picture for each EXIF orientation
    1: lambda im: im,
    2: lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    3: lambda im: im.transpose(Image.Transpose.ROTATE_180),
    4: lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    5: lambda im: im.transpose(Image.Transpose.TRANSPOSE),
    6: lambda im: im.transpose(Image.Transpose.ROTATE_90),
    7: lambda im: im.transpose(Image.Transpose.TRANSVERSE),
    8: lambda im: im.transpose(Image.Transpose.ROTATE_270),
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(tmp_path: Path, orientation: int):
    upright = _upright_asymmetric()
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "IMG_1234.jpg"
    _TO_STORED[orientation](upright).save(path, quality=95, exif=exif)
    with Image.open(path) as check:  # the oracle: Pillow's reading of the same file
        assert similar(np.array(ImageOps.exif_transpose(check)), np.array(upright)) < 2

    page = only_page(path)

    assert page.kind == "jpeg" and page.orientation == orientation and page.data == path.read_bytes()
    image = load_page_image(page)
    assert image.shape == (160, 240) and similar(image, np.array(upright)) < 2


def test_an_exif_orientation_inside_a_pdf_is_ignored_as_viewers_do(tmp_path: Path):
    upright = ballot_like(SCAN_PX)
    exif = Image.Exif()
    exif[0x0112] = 6
    scan = XImage(SCAN_PX[0], SCAN_PX[1], jpeg_bytes(upright, exif=exif), "/DCTDecode")
    page = only_page(write_pdf(tmp_path / "scan.pdf", [Page(images=[full_page(scan)])]))
    assert page.orientation == 1 and similar(load_page_image(page), np.array(upright)) < 2


def test_truncated_and_cmyk_jpeg_files(tmp_path: Path):
    source = ballot_like(SCAN_PX)
    data = jpeg_bytes(source)
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) * 2 // 3])
    source.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=90)
    with pytest.raises(InputProblem, match="cut.jpg: truncated JPEG"):
        list(iter_pages(the_file(tmp_path / "cut.jpg")))
    cmyk = only_page(tmp_path / "cmyk.jpg")
    assert cmyk.kind == "gray" and similar(load_page_image(cmyk), np.array(source)) < 4


# -- the trip to a worker ------------------------------------------------------------------------


def test_pages_pickle_cheaply_and_are_decoded_in_a_process_pool(tmp_path: Path):
    scan = jpeg_image(ballot_like(SCAN_PX))
    pdf = write_pdf(tmp_path / "scan.pdf", [Page(images=[full_page(scan)]), Page(rotate=90, images=[full_page(scan)])])
    direct, rendered = pages_of(pdf)
    assert len(pickle.dumps(direct)) < len(scan.data) + 600  # the JPEG and a few names
    assert pickle.loads(pickle.dumps(direct)) == direct
    assert direct.without_image().data is None and direct.without_image().page_no == 1
    with pytest.raises(AttributeError):
        direct.page_no = 2  # type: ignore[misc]
    with ProcessPoolExecutor(max_workers=1) as pool:
        shapes = list(pool.map(_shape_in_worker, [direct, rendered]))
    assert shapes == [(SCAN_PX[1], SCAN_PX[0]), (2481, 3508)]


def _shape_in_worker(page: PageInput) -> tuple[int, ...]:
    return load_page_image(page).shape


# -- memory stays flat -------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_a_2000_page_pdf_streams_with_flat_memory(tmp_path: Path):
    scan = jpeg_image(ballot_like((248, 351)), quality=50)
    path = tmp_path / "tray.pdf"
    with open(path, "wb") as fh:  # every page has its own copy of the image, as a scanner writes it
        builder = PdfBuilder(fh)
        for _ in range(2000):
            builder.add_page(Page(images=[full_page(scan)]))
        builder.finish()
    assert path.stat().st_size > 2000 * len(scan.data)

    started = time.perf_counter()
    pages = iter_pages(the_file(path))
    seen = 0
    for page in pages:
        seen += 1
        assert page.kind == "jpeg" and page.page_count == 2000
        if seen == 200:
            tracemalloc.start()
            rss_at_200 = _rss_bytes()
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    grown = _rss_bytes() - rss_at_200

    assert seen == 2000
    assert python_peak < 2_000_000  # one page at a time, nothing kept
    assert grown < 12_000_000, (
        f"RSS grew {grown / 1e6:.1f} MB over 1,800 pages ({len(scan.data) * 1800 / 1e6:.0f} MB of images)"
    )
    assert time.perf_counter() - started < 20
