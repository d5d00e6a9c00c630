"""Review item ids: `r<record_id>`, `p<sha10>-<n>` (an unreadable page), `c<sha10>-<n>` (a comment).

`sha10` is the first 10 hex digits of the scanned file's sha256, `n` the page in it.
"""

from __future__ import annotations

import re

from hybrid.review.errors import UnknownItem

_ITEM_ID = re.compile(r"^(?:r(?P<record>[0-9]{1,18})|(?P<kind>[pc])(?P<sha>[0-9a-f]{10})-(?P<page>[0-9]{1,6}))$")


def page_item_id(kind: str, source: str) -> str:
    """`p…` / `c…` id of a scanned page `scan:<sha256>#p<n>`."""
    sha, _, page = source.removeprefix("scan:").partition("#p")
    return f"{kind}{sha[:10]}-{page}"


def parse_id(item_id: str) -> re.Match[str]:
    """The id's parts (`record`, or `kind`, `sha` and `page`); UnknownItem when it is not an item id."""
    match = _ITEM_ID.match(item_id.strip())
    if match is None:
        raise UnknownItem(f"{item_id!r} is not a review item id (r12, p3f9a1c2e4b-1, c3f9a1c2e4b-2); see `hybrid review list`")
    return match
