"""Reviewers and their personal tokens: only a keyed hash of a token is stored."""

from __future__ import annotations

import secrets

from hybrid import audit
from hybrid.errors import InvalidInput
from hybrid.secret_key import keyed_hash
from hybrid.store import Store
from hybrid.store import review as stored
from hybrid.store.review import Reviewer


def reviewer_name(reviewer: str) -> str:
    """The name as stored (spaces collapsed); InvalidInput when empty or longer than 80 characters."""
    name = " ".join((reviewer or "").split())
    if not name or len(name) > 80:
        raise InvalidInput("a decision needs the reviewer's name (1–80 characters)")
    return name


def _token_hash(store: Store, token: str) -> str:
    return keyed_hash(store.key, "review-token", token)


def issue_token(store: Store, name: str) -> str:
    """A new personal token for `name` (replacing any earlier one); only its keyed hash is stored."""
    name = reviewer_name(name)
    token = secrets.token_urlsafe(24)
    with store.transaction():
        stored.save_reviewer(store, name, _token_hash(store, token))
        audit.append(store, "review", {"event": "token", "reviewer": name})
    return token


def revoke_token(store: Store, name: str) -> bool:
    with store.transaction():
        revoked = stored.revoke_reviewer(store, name)
        if revoked:
            audit.append(store, "review", {"event": "token_revoked", "reviewer": name})
    return revoked


def reviewer_for_token(store: Store, token: str) -> Reviewer | None:
    """The reviewer whose current token this is (None for an unknown or revoked token)."""
    if not token or len(token) > 200:
        return None
    return stored.reviewer_by_token_hash(store, _token_hash(store, token))
