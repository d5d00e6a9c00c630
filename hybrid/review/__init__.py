"""Review: what the machine could not decide, and what people decided about it (DESIGN §6, §8)."""

from hybrid.errors import InvalidInput
from hybrid.review.actions import (
    ACTIONS, COMMENT_ACTIONS, GROUP_ORDER, MAX_COMMENT_CHARS, PAGE_ACTIONS, RECORD_ACTIONS, RING_DOUBT, BallotLookup,
    BoxView, CommentView, ConfirmedComment, CropView, DecisionRequest, EffectiveDecision, ItemDetail, OptionView,
    PageView, QuestionView, RecordView, ReviewConflict, ReviewDecision, ReviewItem, Reviewer, SecondReviewerNeeded,
    UnknownItem, apply_decision, confirm, confirmed_comments, counts, crop_region, decide, effective_decision,
    effective_decisions, get_item, history, issue_token, item_detail, items_with_scans, list_items, lookup_ballot,
    page_item_id, parse_marks, preview, queue_key, reviewed_decisions, reviewer_for_token, reviewer_named, reviewers,
    revoke_token, undo,
)
