"""The review web page: Starlette in front of `hybrid.review` (issue 6).

Security, for a page that shows ballots and runs on an office network:
- nothing is served without a reviewer: a personal token (`hybrid review token NAME`
  prints a URL with it) opens a session; the session cookie is HttpOnly and
  SameSite=Strict, signed with a key derived from the process key, and dies with the
  reviewer's token (a new token or `--revoke` ends it). No credentials → 401, wrong
  ones → 403, for pages, data, images and scripts alike. Scripts may instead send
  `Authorization: Bearer <token>`.
- every POST from a session carries the session's CSRF token in `X-CSRF-Token`, and a
  foreign Origin is refused (403);
- every change names the item version the reviewer saw: someone else's change in
  between gives 409 with who, what and when, never a lost decision;
- the page uses no external assets (CSP `default-src 'self'`), no inline script, and
  asks browsers not to cache or frame it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from enum import Enum
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hybrid import review
from hybrid.definition import Process
from hybrid.errors import HybridError, InvalidInput
from hybrid.store import Store
from hybrid.store import review as stored_review
from review import evidence, i18n

STATIC = Path(__file__).resolve().parent / "static"
TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "hybrid_review"
LANG_COOKIE = "hybrid_review_lang"
SESSION_SECONDS = 12 * 3600
CSRF_HEADER = "x-csrf-token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png"}


# -- one store per worker thread ------------------------------------------------------------


class StorePool:
    """Starlette runs plain endpoints in a thread pool: each thread gets its own connection."""

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._opener = opener
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Store] = []

    def get(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._opener()
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                with contextlib.suppress(Exception):  # closing on shutdown, best effort
                    store.close()
            self._all.clear()


# -- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    reviewer: str
    sid: str
    csrf: str
    bearer: bool = False


class Denied(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Signed, stateless session cookies (they survive a server restart)."""

    def __init__(self, key: bytes) -> None:
        self._key = hmac.new(key, b"hybrid review session", hashlib.sha256).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def csrf(self, sid: str) -> str:
        return _b64(hmac.new(self._key, f"csrf:{sid}".encode(), hashlib.sha256).digest())[:32]

    def issue(self, reviewer: review.Reviewer) -> str:
        body = {"n": reviewer.name, "s": secrets.token_urlsafe(12), "t": reviewer.token_hash[:16],
                "e": int(time.time()) + SESSION_SECONDS}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}"

    def read(self, cookie: str, store: Store) -> Session:
        payload, _, mac = cookie.partition(".")
        if not payload or not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise Denied(403, "bad session")
        try:
            body = json.loads(_unb64(payload))
        except ValueError:
            raise Denied(403, "bad session") from None
        if int(body.get("e", 0)) < time.time():
            raise Denied(401, "session expired")
        reviewer = review.reviewer_named(store, str(body.get("n")))
        if reviewer is None or not hmac.compare_digest(reviewer.token_hash[:16], str(body.get("t"))):
            raise Denied(403, "token replaced or revoked")
        return Session(reviewer.name, str(body["s"]), self.csrf(str(body["s"])))


# -- JSON ----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        out = {k: _plain(v) for k, v in asdict(value).items()}
        if isinstance(value, review.EffectiveDecision):
            out["counted"] = value.counted
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(_plain(data), status_code=status, headers=SECURITY_HEADERS)


def _problem(status: int, error: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "message": message, **extra}, status_code=status, headers=SECURITY_HEADERS)


# -- the app -------------------------------------------------------------------------------------


def create_app(root: Path, process: Process, open_store: Callable[[], Store], *, draw_evidence: evidence.DrawEvidence,
               prerender: bool = False) -> Starlette:
    """The review app for the workspace at `root`; `open_store` opens one store connection;
    `draw_evidence` cuts a page's picture from its archived scan (the reader's
    `ocr.evidence_picture.draw`). With `prerender`, the pictures of open items are rendered
    in the background (first those after the item a reviewer opened), so items open with
    their image at once."""
    root = Path(root).resolve()
    pool = StorePool(open_store)
    sessions = Sessions(pool.get().key)
    page_template = Template((TEMPLATES / "page.html").read_text(encoding="utf-8"))

    def language(request: Request) -> str:
        return i18n.pick(request.cookies.get(LANG_COOKIE))

    def authenticate(request: Request) -> Session:
        store = pool.get()
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            found = review.reviewer_for_token(store, auth[7:].strip())
            if found is None:
                raise Denied(403, "unknown token")
            return Session(found.name, "bearer", "", bearer=True)
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Denied(401, "no token")
        return sessions.read(cookie, store)

    def check_csrf(request: Request, session: Session) -> None:
        if session.bearer:
            return  # not sent by a browser on its own: no cross-site request can carry it
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise Denied(403, "foreign origin")
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise Denied(403, "missing or wrong CSRF token")

    def denied_page(request: Request, exc: Denied) -> Response:
        if request.url.path.startswith(("/api/", "/img/", "/static/")) or request.method != "GET":
            return _problem(exc.status, "unauthorised" if exc.status == 401 else "forbidden", exc.reason)
        words = i18n.strings(language(request))
        body = (f"<!doctype html><html lang='de'><meta charset='utf-8'><title>{html.escape(words['title'])}</title>"
                "<body><h1>hybrid</h1><p>Bitte den persönlichen Link öffnen (<code>hybrid review token NAME</code>)."
                "</p><p>Please open your personal link (<code>hybrid review token NAME</code>).</p>"
                f"<p><small>{exc.status}: {html.escape(exc.reason)}</small></p></body></html>")
        return HTMLResponse(body, status_code=exc.status, headers=SECURITY_HEADERS)

    def guarded(handler: Callable[..., Response], *, post: bool = False) -> Callable[[Request], Any]:
        """Authenticate (and for a POST check CSRF and read the JSON body), then run `handler`
        in the thread pool, mapping the hub's errors to HTTP statuses."""
        async def endpoint(request: Request) -> Response:
            raw = await request.body() if post else b""
            return await run_in_threadpool(run, request, raw)

        def run(request: Request, raw: bytes) -> Response:
            try:
                session = authenticate(request)
                if post:
                    check_csrf(request, session)
                    return handler(request, session, _parse_json(raw))
                return handler(request, session)
            except Denied as exc:
                return denied_page(request, exc)
            except review.UnknownItem as exc:
                return _problem(404, "not_found", exc.message)
            except review.ReviewConflict as exc:
                return _problem(409, "conflict", exc.message, version=exc.version, by=exc.by, event=exc.event,
                                at=exc.at)
            except review.SecondReviewerNeeded as exc:
                return _problem(403, "second_reviewer", exc.message)
            except InvalidInput as exc:
                return _problem(400, "invalid", exc.message)
            except HybridError as exc:
                return _problem(500, "store", exc.message)
        return endpoint

    # -- pages --

    async def index(request: Request) -> Response:
        if request.query_params.get("token") is not None:
            return await run_in_threadpool(login, request)
        return await guarded_index(request)

    def login(request: Request) -> Response:
        """`/?token=…`: the personal link opens a session, then the token leaves the address bar."""
        found = review.reviewer_for_token(pool.get(), request.query_params.get("token", ""))
        if found is None:
            return denied_page(request, Denied(403, "unknown or revoked token"))
        response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(SESSION_COOKIE, sessions.issue(found), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https", path="/")
        return response

    def _index(request: Request, session: Session) -> Response:
        lang = request.query_params.get("lang")
        if lang in i18n.LANGUAGES:
            response = RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict", path="/")
            return response
        lang = language(request)
        words = i18n.strings(lang)
        boot = {
            "lang": lang, "languages": list(i18n.LANGUAGES), "reviewer": session.reviewer, "csrf": session.csrf,
            "strings": words, "process": {"id": process.id, "kind": process.kind,
                                          "title": process.text(process.title, lang)},
        }
        text = page_template.substitute(
            lang=lang, title=html.escape(words["title"]),
            process_title=html.escape(process.text(process.title, lang)),
            reviewer=html.escape(session.reviewer), csrf=html.escape(session.csrf),
            boot=json.dumps(boot, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"),
            logout=html.escape(words["logout"]), language=html.escape(words["language"]),
            left=html.escape(words["left"]), shortcuts=html.escape(words["shortcuts"]),
            keys_help=html.escape(words["keys_help"]), show_decided=html.escape(words["show_decided"]),
        )
        return HTMLResponse(text, headers=SECURITY_HEADERS)

    guarded_index = guarded(_index)

    def static(request: Request, session: Session) -> Response:
        name = request.path_params["name"]
        path = STATIC / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            return _problem(404, "not_found", name)
        return FileResponse(path, media_type=STATIC_TYPES[path.suffix], headers=SECURITY_HEADERS)

    def logout(request: Request, session: Session, data: dict[str, Any]) -> Response:
        response = _json({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- data --

    # The queue of thousands of items is worked out once per change of the store: every
    # scan page, message and decision appends to the audit chain and bumps an item version.
    queue_cache: dict[str, Any] = {}
    queue_lock = threading.Lock()

    def queue_items(store: Store) -> list[tuple[review.ReviewItem, dict[str, Any]]]:
        """Every item with its queue entry, recomputed only when the store changed."""
        mark = stored_review.change_stamp(store)
        with queue_lock:
            if queue_cache.get("mark") == mark:
                return queue_cache["items"]
        items = [(item, _queue_entry(item)) for item in review.list_items(store, process, include_decided=True)]
        with queue_lock:
            queue_cache.update(mark=mark, items=items)
        return items

    def queue(request: Request, session: Session) -> Response:
        everything = queue_items(pool.get())
        show_all = request.query_params.get("all") == "1"
        groups: list[dict[str, Any]] = []
        counts = {"open": 0, "pending": 0, "decided": 0}
        for item, entry in everything:
            counts[item.status] = counts.get(item.status, 0) + 1
            if not show_all and not item.needs_person:
                continue
            if not groups or groups[-1]["group"] != item.group:
                groups.append({"group": item.group, "items": []})
            if item.decision is not None and item.decision.pending:  # who may confirm depends on who asks
                mine = item.decision.reviewer == session.reviewer
                entry = {**entry, "can_confirm": not mine, "mine_pending": mine}
            groups[-1]["items"].append(entry)
        return JSONResponse({"counts": counts, "groups": groups, "reviewer": session.reviewer},
                            headers=SECURITY_HEADERS)  # plain already: no _plain walk over thousands of items

    def _queue_entry(item: review.ReviewItem) -> dict[str, Any]:
        """What the queue shows of an item (the detail has the rest); built by hand, fast."""
        decision = item.decision
        return {"id": item.id, "kind": item.kind, "group": item.group, "reasons": list(item.reasons),
                "status": item.status, "version": item.version, "serial": item.serial, "channel": item.channel,
                "note": item.note,
                "decision": None if decision is None else {
                    "action": decision.action, "reviewer": decision.reviewer, "confirmed_by": decision.confirmed_by},
                "can_confirm": False, "mine_pending": False}

    def _item_json(item: review.ReviewItem, session: Session) -> dict[str, Any]:
        data = _plain(item)
        decision = item.decision
        data["can_confirm"] = bool(decision and decision.pending and decision.reviewer != session.reviewer)
        data["mine_pending"] = bool(decision and decision.pending and decision.reviewer == session.reviewer)
        return data

    def evidence_plans(found: review.ItemDetail) -> list[evidence.Plan | None]:
        """What picture each page of the item gets: the whole sheet of an unreadable page, the
        header with the code's last group for a code read by OCR, else the ballot page."""
        layouts = pool.get().layouts()
        plans: list[evidence.Plan | None] = []
        for page in found.pages:
            if not page.archived:
                plans.append(None)
                continue
            variant = ("whole" if found.item.kind == "page" else
                       "header" if "code_from_ocr" in page.reasons else "ballot")
            plans.append(evidence.plan(page.source, variant, layouts, page.layout_hash, page.ballot_page))
        return plans

    def render_item(item_id: str) -> None:
        found = review.item_detail(pool.get(), process, item_id, root)
        layouts = pool.get().layouts()
        for page, plan in zip(found.pages, evidence_plans(found)):
            if plan is not None:
                evidence.render(root, page.archived, page.source, plan, layouts, draw_evidence)

    prerenderer = evidence.Prerenderer(render_item) if prerender else None

    def detail(request: Request, session: Session) -> Response:
        store = pool.get()
        found = review.item_detail(store, process, request.path_params["item"], root)
        if prerenderer is not None:
            order = [item.id for item, _ in queue_items(store) if item.needs_person]
            if found.item.id in order:
                at = order.index(found.item.id)
                prerenderer.soon(order[at + 1:at + 4])
        data = _plain(found)
        data["item"] = _item_json(found.item, session)
        for index, (page, plan) in enumerate(zip(data["pages"], evidence_plans(found))):
            if plan is not None:
                page["crop"] = {"path": plan.name, "width": plan.width, "height": plan.height,
                                "region_mm": list(plan.region_mm), "px_per_mm": plan.px_per_mm}
                page["evidence"] = plan.variant
            suffix = "jpg" if plan is not None else "png"
            page["crop_url"] = f"/img/{found.item.id}/page/{index}.{suffix}" if page["crop"] else None
        if data.get("comment") and data["comment"].get("crop"):
            data["comment"]["crop_url"] = f"/img/{found.item.id}/comment.png"
        return _json(data)

    def ballot(request: Request, session: Session) -> Response:
        try:
            serial = int(request.path_params["serial"])
        except ValueError:
            raise InvalidInput("a serial is a number") from None
        return _json(review.lookup_ballot(pool.get(), process, serial))

    def image(request: Request, session: Session) -> Response:
        store = pool.get()
        found = review.item_detail(store, process, request.path_params["item"], root)
        which = request.path_params["which"]
        crop, plan, page = None, None, None
        if which == "comment" and found.comment is not None:
            crop = found.comment.crop
        elif which.startswith("page/"):
            try:
                index = int(which.removeprefix("page/"))
                page = found.pages[index]
                crop, plan = page.crop, evidence_plans(found)[index]
            except (ValueError, IndexError):
                crop = None
        path = None
        if plan is not None and page is not None:
            try:
                path = evidence.render(root, page.archived, page.source, plan, store.layouts(), draw_evidence)
            except evidence.NoEvidence:
                path = None  # purged: the reader's own crop, if any, is all there is
        if path is None and crop is not None:
            path = (root / crop.path).resolve()
        if path is None or not path.resolve().is_relative_to(root / "scans") or not path.is_file():
            return _problem(404, "not_found", "no image")
        media = "image/jpeg" if path.suffix == ".jpg" else "image/png"
        return FileResponse(path, media_type=media, headers={**SECURITY_HEADERS, "Cache-Control": "private, no-store"})

    # -- changes --

    def _decision_request(request_json: dict[str, Any]) -> review.DecisionRequest:
        marks = request_json.get("marks")
        if marks is not None:
            if not isinstance(marks, dict) or not all(isinstance(v, list) for v in marks.values()):
                raise InvalidInput("marks: {question: [option, …]}")
            marks = {str(q): tuple(str(o) for o in v) for q, v in marks.items()}
        questions = request_json.get("questions") or []
        serial = request_json.get("serial")
        page = request_json.get("page")
        try:
            serial = int(serial) if serial not in (None, "") else None
            page = int(page) if page not in (None, "") else None
        except (TypeError, ValueError):
            raise InvalidInput("serial and page are numbers") from None
        text = request_json.get("text")
        return review.DecisionRequest(
            action=str(request_json.get("action", "")), marks=marks, questions=tuple(str(q) for q in questions),
            serial=serial, page=page, text=str(text) if text is not None else None)

    def _parse_json(raw: bytes) -> dict[str, Any]:
        if len(raw) > 64_000:
            raise InvalidInput("request too large")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise InvalidInput("the request body is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidInput("the request body is not a JSON object")
        return data

    def _version(data: dict[str, Any]) -> int:
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidInput("send the item's version you decided on (\"version\": N)")
        return version

    def changing(store: Store, change: Callable[[], review.ReviewItem], new_decision: bool) -> review.ReviewItem:
        """Run one decision, confirmation or undo; when it was the only write in between (one
        audit entry, one version) and touched no other item, patch the cached queue instead
        of working out thousands of items again."""
        before = stored_review.change_stamp(store)
        item = change()
        after = stored_review.change_stamp(store)
        alone = (after[0] == (before[0] or 0) + 1 and after[2] == (before[2] or 0) + 1
                 and (after[1] or 0) == (before[1] or 0) + int(new_decision))
        isolated = item.kind == "record" and "cross_channel_conflict" not in item.reasons
        with queue_lock:
            if alone and isolated and queue_cache.get("mark") == before:
                rest = [pair for pair in queue_cache["items"] if pair[0].id != item.id]
                rest.append((item, _queue_entry(item)))
                rest.sort(key=lambda pair: review.queue_key(pair[0]))
                queue_cache.update(mark=after, items=rest)
        return item

    def decide(request: Request, session: Session, data: dict[str, Any]) -> Response:
        decision = _decision_request(data)
        store = pool.get()
        item = changing(store, lambda: review.decide(store, process, request.path_params["item"], decision,
                                                     session.reviewer, expected_version=_version(data)), True)
        return _json({"item": _item_json(item, session)})

    def preview(request: Request, session: Session, data: dict[str, Any]) -> Response:
        result = review.preview(pool.get(), process, request.path_params["item"], _decision_request(data))
        return _json({"effective": result})

    def confirm(request: Request, session: Session, data: dict[str, Any]) -> Response:
        store = pool.get()
        item = changing(store, lambda: review.confirm(store, process, request.path_params["item"], session.reviewer,
                                                      expected_version=_version(data)), False)
        return _json({"item": _item_json(item, session)})

    def undo(request: Request, session: Session, data: dict[str, Any]) -> Response:
        store = pool.get()
        item = changing(store, lambda: review.undo(store, process, request.path_params["item"], session.reviewer,
                                                   expected_version=_version(data)), False)
        return _json({"item": _item_json(item, session)})

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/static/{name}", guarded(static), methods=["GET"]),
        Route("/api/queue", guarded(queue), methods=["GET"]),
        Route("/api/items/{item}", guarded(detail), methods=["GET"]),
        Route("/api/ballots/{serial}", guarded(ballot), methods=["GET"]),
        Route("/api/items/{item}/decide", guarded(decide, post=True), methods=["POST"]),
        Route("/api/items/{item}/preview", guarded(preview, post=True), methods=["POST"]),
        Route("/api/items/{item}/confirm", guarded(confirm, post=True), methods=["POST"]),
        Route("/api/items/{item}/undo", guarded(undo, post=True), methods=["POST"]),
        Route("/logout", guarded(logout, post=True), methods=["POST"]),
        Route("/img/{item}/{which:path}.png", guarded(image), methods=["GET"]),
        Route("/img/{item}/{which:path}.jpg", guarded(image), methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if prerenderer is not None:
            with_scans = review.items_with_scans(pool.get())
            prerenderer.start([item.id for item, _ in queue_items(pool.get())
                               if item.needs_person and item.id in with_scans])
        yield
        if prerenderer is not None:
            prerenderer.stop()
        pool.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.pool = pool
    return app
