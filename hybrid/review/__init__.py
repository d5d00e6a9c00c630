"""Review: what the machine could not decide, and what people decided about it (DESIGN §6, §8).

Three kinds of item, each with a stable id (`ids`):

- ``r<record_id>``   a record in ``review`` (any channel), with its reasons;
- ``p<sha10>-<n>``   a page the reader could not identify (``unreadable``): identify its
                     ballot by serial, or reject it;
- ``c<sha10>-<n>``   a page with a handwritten comment: confirm Tesseract's suggestion,
                     correct it, or mark it as containing personal data.

(``sha10`` is the first 10 hex digits of the scanned file's sha256, ``n`` the page in it.)

A decision is stored beside, never over, the machine's reading: a row in
``review_decisions`` with the reviewer's name and time and a snapshot of the reading it
was made on, and an entry in the audit chain. Nothing in ``records`` changes, with one
exception: identifying an unreadable page makes the page ``identified`` and re-judges its
ballot through the normal path (``paper_records.rejudge_ballot``), exactly as if the
reader had found the code; undoing the identification puts the page back.

Rules a caller may rely on:
- every decision, confirmation and undo bumps the item's version; a caller that passes
  the version it saw gets ``ReviewConflict`` (HTTP 409) when someone else acted first;
- a decision that changes marks (set marks that differ from the reading; identifying a
  page that has boxes) needs a second reviewer's confirmation and is not used until
  confirmed (``pending``); the one who decided cannot confirm;
- undo keeps the undone decision in the history; the decision before it (if any) is in
  force again;
- a decision made on a reading that has changed since (a page arrived and the ballot was
  re-judged) is not used: the item is open again;
- new marks are judged by the one rules module: an overvote or a budget over its limit
  stays invalid whoever sets it.

``effective_decision`` / ``effective_decisions`` give merge each record's final state and
choices; ``confirmed_comments`` the comment texts that may be published.

The rooms: `ids` (item ids), `decisions` (pure: what a decision makes of a record),
`queue` (the items), `detail` (what a reviewer looks at), `actions` (decide, confirm,
undo), `identification` (an unreadable page given its ballot), `effective` (what merge
uses), `tokens` (reviewers); their SQL is in `hybrid.store.review`.
"""

from hybrid.errors import InvalidInput
from hybrid.review.actions import confirm, decide, preview, undo
from hybrid.review.decisions import (
    ACTIONS, COMMENT_ACTIONS, MAX_COMMENT_CHARS, PAGE_ACTIONS, RECORD_ACTIONS, DecisionRequest, EffectiveDecision,
    apply_decision, parse_marks,
)
from hybrid.review.detail import (
    RING_DOUBT, BallotLookup, BoxView, CommentView, CropView, ItemDetail, OptionView, PageView, QuestionView,
    RecordView, crop_region, item_detail, lookup_ballot,
)
from hybrid.review.effective import (
    ConfirmedComment, confirmed_comments, effective_decision, effective_decisions, reviewed_decisions,
)
from hybrid.review.errors import ReviewConflict, SecondReviewerNeeded, UnknownItem
from hybrid.review.ids import page_item_id
from hybrid.review.queue import GROUP_ORDER, ReviewItem, counts, get_item, items_with_scans, list_items, queue_key
from hybrid.review.tokens import issue_token, reviewer_for_token, revoke_token
from hybrid.store.review import ReviewDecision, Reviewer, history, reviewer_named, reviewers

__all__ = [
    "ACTIONS", "COMMENT_ACTIONS", "GROUP_ORDER", "MAX_COMMENT_CHARS", "PAGE_ACTIONS", "RECORD_ACTIONS", "RING_DOUBT",
    "BallotLookup", "BoxView", "CommentView", "ConfirmedComment", "CropView", "DecisionRequest", "EffectiveDecision",
    "InvalidInput", "ItemDetail", "OptionView", "PageView", "QuestionView", "RecordView", "ReviewConflict",
    "ReviewDecision", "ReviewItem", "Reviewer", "SecondReviewerNeeded", "UnknownItem", "apply_decision", "confirm",
    "confirmed_comments", "counts", "crop_region", "decide", "effective_decision", "effective_decisions", "get_item",
    "history", "issue_token", "item_detail", "items_with_scans", "list_items", "lookup_ballot", "page_item_id",
    "parse_marks", "preview", "queue_key", "reviewed_decisions", "reviewer_for_token", "reviewer_named", "reviewers",
    "revoke_token", "undo",
]
