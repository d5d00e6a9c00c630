"""The process key: 32 random bytes kept outside the workspace (DESIGN §2).

Codes and phone numbers exist in the store only as HMAC-SHA256 under this key;
the store records the key's fingerprint and refuses any other key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from hybrid.errors import StoreProblem

KEY_BYTES = 32


def key_path(process_id: str) -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hybrid" / f"{process_id}.key"


def _from_environment() -> bytes | None:
    secret = os.environ.get("HYBRID_SECRET")
    if not secret:
        return None
    try:
        raw = bytes.fromhex(secret)
        if len(raw) == KEY_BYTES:
            return raw
    except ValueError:
        pass
    # Any other string is stretched to a key; documented as "use 64 hex digits".
    return hashlib.sha256(secret.encode("utf-8")).digest()


def load_key(process_id: str, *, create: bool = False) -> bytes:
    """The key for `process_id`: HYBRID_SECRET, else the key file (created if asked)."""
    from_env = _from_environment()
    if from_env is not None:
        return from_env
    path = key_path(process_id)
    if path.exists():
        raw = path.read_bytes()
        if len(raw) != KEY_BYTES:
            raise StoreProblem(f"{path}: the key file is damaged (expected {KEY_BYTES} bytes, found {len(raw)})")
        return raw
    if not create:
        raise StoreProblem(
            f"no key for process {process_id!r}: expected {path} (or set HYBRID_SECRET). "
            "Copy the key from the machine where the process was set up."
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    raw = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
    return raw


def fingerprint(key: bytes) -> str:
    """A public name for the key: safe to store and print, useless for forging."""
    return hmac.new(key, b"hybrid key fingerprint", hashlib.sha256).hexdigest()[:16]


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value`, separated by `purpose` ("code", "phone") so hashes never mix."""
    return hmac.new(key, f"{purpose}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()
