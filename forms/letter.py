"""The cover letter (Anschreiben) of an addressed print run.

Secrecy: the addressee's name and street are printed on this letter only, never on a
ballot page, so a returned ballot carries no address. The letter has its own layout
(every page `kind: "letter"`) and a QR that names the process and that layout but no
serial and no code: the scanner recognises a letter that comes back in the return
envelope, skips it and keeps no image of it.

Paper: DIN 5008 form B, for a C4 window envelope (sheets flat: the ballots must not be
folded). Window 20 mm from the left, 45 mm from the top, 85 × 45 mm; fold marks at
105 and 210 mm and the hole mark at 148.5 mm, as DIN 5008 prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from forms.compose import LEFT, PAGE_H, PAGE_W, QR, RIGHT, LineOp, Op, PageBuilder, Style, TextOp, layout_id_for
from forms.fonts import SANS, SANS_BOLD, text_width_mm, wrap
from forms.letter_texts import letter_texts_for
from forms.privacy_notice import privacy_parts, privacy_title
from forms.texts import format_date, texts_for
from hybrid.definition import Process
from hybrid.layout import Layout, Page, Rect, layout_hash_of

ADDRESS_WINDOW = Rect(x=20.0, y=45.0, w=85.0, h=45.0)  # DIN 5008 form B
RECIPIENT_TOP = ADDRESS_WINDOW.y + 17.7  # below the 5-line return/remark zone
FOLD_MARKS_MM = (105.0, 210.0)
HOLE_MARK_MM = 148.5
ENVELOPE = {"de": "C4-Fensterumschlag (DIN 5008 Form B), Blätter ungefaltet",
            "en": "C4 window envelope (DIN 5008 form B), sheets unfolded"}
LETTER_PAGES = 2  # front: address and what to do; back: the data-protection notice


@dataclass(frozen=True)
class LetterPlan:
    layout: Layout
    pages: tuple[tuple[Op, ...], ...]
    window: Rect  # where the renderer writes the recipient's address (page 1)
    recipient_top: float


class LetterComposer:
    """Lays out the cover letter of one variant (language × print size)."""

    def __init__(self, process: Process, lang: str, large_print: bool) -> None:
        self.process, self.lang, self.large_print = process, lang, large_print
        self.style = Style.for_variant(large_print)
        self.t = letter_texts_for(lang)
        self.ballot_t = texts_for(lang)

    def compose(self) -> LetterPlan:
        # No corner squares: a letter whose QR is lost is "not a ballot", never a page for review.
        pages = [Page(page=n, kind="letter", fiducials=[], qr=QR) for n in range(1, LETTER_PAGES + 1)]
        body = {
            "format": "hybrid-layout/1",
            "process": self.process.id,
            "layout_id": layout_id_for(self.process, self.lang, self.large_print) + "-A",
            "language": self.lang,
            "large_print": self.large_print,
            "duplex": True,
            "page_size_mm": [PAGE_W, PAGE_H],
            "pages": [p.model_dump(mode="json") for p in pages],
        }
        layout = Layout.model_validate({**body, "layout_hash": layout_hash_of(body)})
        return LetterPlan(layout=layout, pages=(tuple(self._front()), tuple(self._back())),
                          window=ADDRESS_WINDOW, recipient_top=RECIPIENT_TOP)

    # -- page 1 --------------------------------------------------------------
    def _front(self) -> list[Op]:
        t, p, s = self.t, self.process, self.style
        ops = self._furniture()
        paper = p.channels.paper
        sender = paper.return_address if paper else (p.privacy.controller if p.privacy else "")
        line, size = sender_line(sender, ADDRESS_WINDOW.w)
        ops.append(TextOp(ADDRESS_WINDOW.x, ADDRESS_WINDOW.y + 15.0, line, SANS, size, grey=0.25))
        ops.append(LineOp(ADDRESS_WINDOW.x, ADDRESS_WINDOW.y + 16.2, ADDRESS_WINDOW.x + ADDRESS_WINDOW.w,
                          ADDRESS_WINDOW.y + 16.2, 0.15))
        page = PageBuilder("letter", s, 100.0, bottom=PAGE_H - 22.0)
        width = RIGHT - LEFT
        title = p.text(p.title, self.lang)
        page.paragraph(LEFT, width, t["subject"].format(title=title), SANS_BOLD, s.heading)
        page.y += 3.0
        page.paragraph(LEFT, width, t["greeting"], SANS, s.body)
        page.y += 1.5
        page.paragraph(LEFT, width, t["intro"].format(title=title), SANS, s.body)
        page.y += 2.5
        for text in self._steps():
            page.paragraph(LEFT + 6.0, width - 6.0, text, SANS, s.body)
            page.y += 1.5
        if p.help is not None:
            page.y += 1.5
            page.paragraph(LEFT, width, self.ballot_t["help"].format(
                phone=p.help.phone, hours=p.text(p.help.hours, self.lang)), SANS_BOLD, s.body)
        page.y += 3.0
        page.paragraph(LEFT, width, t["closing"], SANS, s.body)
        page.paragraph(LEFT, width, sender.split(",")[0].strip(), SANS, s.body)
        page.y += 3.0
        page.paragraph(LEFT, width, t["keep_letter"], SANS_BOLD, s.body, grey=0.2)
        return ops + page.ops

    def _steps(self) -> list[str]:
        t, p = self.t, self.process
        paper, sms, voice = p.channels.paper, p.channels.sms, p.channels.voice
        steps = [t["step_mark"], t["step_envelope"]]
        if paper is not None:
            when = (t["step_send_by"].format(date=format_date(paper.return_by, self.lang)) if paper.return_by
                    else t["step_send"])
            arrival = self.ballot_t["arrival_rule"].format(last=format_date(p.last_day(), self.lang))
            postage = self.ballot_t["postage_paid" if paper.postage_paid else "postage_unpaid"]
            steps.append(f"{when} {arrival} {postage}")
        if sms or voice:
            steps.append(t["step_phone"].format(opens=format_date(p.opens_day(), self.lang),
                                                last=format_date(p.last_day(), self.lang)))
        return [f"{n}. {text}" for n, text in enumerate(steps, start=1)]

    # -- page 2 --------------------------------------------------------------
    def _back(self) -> list[Op]:
        s = self.style
        ops = self._furniture()
        page = PageBuilder("letter", s, 54.0, bottom=PAGE_H - 22.0)
        width = RIGHT - LEFT
        page.paragraph(LEFT, width, privacy_title(self.lang), SANS_BOLD, s.heading)
        page.y += 2.0
        for heading, text in privacy_parts(self.process, self.lang, letter=True):
            page.paragraph(LEFT, width, heading, SANS_BOLD, s.small)
            page.paragraph(LEFT, width, text, SANS, s.small, grey=0.1)
            page.y += 1.5
        return ops + page.ops

    def _furniture(self) -> list[Op]:
        """Corner squares and DIN 5008 fold and hole marks; the QR is the renderer's."""
        ops: list[Op] = []
        for y in FOLD_MARKS_MM:
            ops.append(LineOp(3.0, y, 8.0, y, 0.2))
        ops.append(LineOp(3.0, HOLE_MARK_MM, 10.0, HOLE_MARK_MM, 0.2))
        city = self.process.channels.paper.return_address.split(",")[0].strip() if self.process.channels.paper else ""
        y = 22.0
        if city:
            ops.append(TextOp(LEFT, y, city, SANS, self.style.body, grey=0.3))
        for line in wrap(self.process.text(self.process.title, self.lang), SANS_BOLD, self.style.title, 120.0):
            y += self.style.line_mm(self.style.title)
            ops.append(TextOp(LEFT, y, line, SANS_BOLD, self.style.title))
        y += self.style.line_mm(self.style.body)
        ops.append(TextOp(LEFT, y, self.t["letter"], SANS, self.style.body, grey=0.2))
        return ops


def sender_line(return_address: str, width: float) -> tuple[str, float]:
    """The one-line return address above the window (DIN 5008) and its size, fitted to
    `width`: smaller type first, then middle parts dropped (name, street, town stay)."""
    parts = [part.strip() for part in return_address.split(",") if part.strip()]
    while True:
        text = " · ".join(parts)
        for size in (8.0, 7.0, 6.5):
            if text_width_mm(text, SANS, size) <= width:
                return text, size
        if len(parts) <= 3:
            return text, 6.5 * width / text_width_mm(text, SANS, 6.5)
        del parts[-3]
