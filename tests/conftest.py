"""Generic fixtures: every test gets its own config folder and no HYBRID_SECRET."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """An empty $XDG_CONFIG_HOME per test, so no test reads or writes ~/.config."""
    config = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("HYBRID_DATABASE_URL", raising=False)
    monkeypatch.delenv("HYBRID_SECRET", raising=False)
    return config


# -- running with `-n auto`: the longest tests first, builds shared between workers -------

import fcntl  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` (whole simulated trays) start first, so the workers finish together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def shared_between_workers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every worker of this run sees (the run's own base folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold `lock_path` against the other workers of this run."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- the `hybrid` command, run in-process ------------------------------------------------

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """`run_cli(*args)` runs `hybrid args…` through `cli.main` and returns its exit code,
    stdout and stderr. Rich prints unwrapped (messages stay on one line); no output may
    hold a traceback."""
    import cli

    monkeypatch.setattr(cli.console, "_width", 10_000)
    monkeypatch.setattr(cli.errors, "_width", 10_000)

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, out + err
        return CliResult(int(code), out, err)

    return run


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL server for the whole run (Debian's binaries, a temp folder)."""
    from postgres_cluster import Cluster

    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request, monkeypatch: pytest.MonkeyPatch):
    """Run a test against both store engines: SQLite in the workspace, and a fresh PostgreSQL database."""
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        monkeypatch.setenv("HYBRID_DATABASE_URL", cluster.new_database())
    else:
        monkeypatch.delenv("HYBRID_DATABASE_URL", raising=False)
    return request.param


# -- the SMS channel: workspaces with issued codes, real `hybrid sms serve` processes ---------

import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import xml.etree.ElementTree as ElementTree  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SMS_ACCOUNT = "AC" + "7f" * 16
SMS_TOKEN = "0123456789abcdef0123456789abcdef"
SMS_PUBLIC_URL = "https://abstimmung.example.de"
SMS_NUMBER = "+4915792418830"  # channels.sms.number of hybrid/examples/poll.yaml


@dataclass
class SmsWorkspace:
    """A poll workspace with a store and issued ballots whose plain codes the test knows."""

    root: Path
    codes: dict  # language → [code, …] (serials in that order)
    database_url: str | None = None  # PostgreSQL: this workspace's own database

    @property
    def process(self):
        from hybrid.workspace import Workspace

        return Workspace(self.root).process

    def open_store(self, create: bool = False):
        from hybrid.workspace import Workspace

        before = os.environ.get("HYBRID_DATABASE_URL")
        try:
            if self.database_url:
                os.environ["HYBRID_DATABASE_URL"] = self.database_url
            return Workspace(self.root).open_store(create=create)
        finally:
            if before is None:
                os.environ.pop("HYBRID_DATABASE_URL", None)
            else:
                os.environ["HYBRID_DATABASE_URL"] = before

    def environment(self, **extra: str) -> dict:
        """What a `hybrid` process for this workspace needs: Twilio settings, the store."""
        env = sms_environment(**extra)
        if self.database_url:
            env["HYBRID_DATABASE_URL"] = self.database_url
        return env

    def query(self, sql: str, params=()) -> list:
        store = self.open_store()
        try:
            return [tuple(row) for row in store.conn.execute(sql, params).fetchall()]
        finally:
            store.close()


def _poll_yaml(opens: str, closes: str, identity: str, conflicts: str) -> str:
    text = (REPO / "hybrid" / "examples" / "poll.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^opens: .*$", f"opens: {opens}", text)
    text = re.sub(r"(?m)^closes: .*$", f"closes: {closes}", text)
    text = re.sub(r"(?m)^identity: \w+", f"identity: {identity}", text)
    text = re.sub(r"(?m)^conflicts: \w+", f"conflicts: {conflicts}", text)
    if identity == "phone":  # phone identity is refused with paper
        text = re.sub(r"(?m)^  paper:\n(    .*\n)+", "", text)
    return text


@pytest.fixture
def sms_workspace(tmp_path: Path, request: pytest.FixtureRequest):
    """`sms_workspace(codes={"de": 5, "en": 2}, opens=…, closes=…, identity=…, conflicts=…)`:
    a poll workspace (the sample poll, with the given window and rules) whose store has
    issued ballots with known codes, on the engine HYBRID_DATABASE_URL selects."""
    from forms.compose import BallotComposer
    from paper_deck import issue_codes

    made = 0

    def make(codes=None, opens="2020-01-01T00:00:00+01:00", closes="2099-01-01T00:00:00+01:00",
             identity="code", conflicts="first") -> SmsWorkspace:
        nonlocal made
        made += 1
        root = tmp_path / f"ws{made}"
        root.mkdir()
        (root / "process.yaml").write_text(_poll_yaml(opens, closes, identity, conflicts), encoding="utf-8")
        url = os.environ.get("HYBRID_DATABASE_URL")
        if url and made > 1:  # every workspace gets its own PostgreSQL database
            url = request.getfixturevalue("postgres_cluster").new_database()
        sms_ws = SmsWorkspace(root, {}, url)
        store = sms_ws.open_store(create=True)
        try:
            for lang, count in (codes or {"de": 5}).items():
                layout = BallotComposer(sms_ws.process, lang, False).compose().layout
                sms_ws.codes[lang] = issue_codes(store, layout, count)
        finally:
            store.close()
        return sms_ws

    return make


def sms_environment(**extra: str) -> dict:
    env = dict(os.environ)
    env.update({"TWILIO_ACCOUNT_SID": SMS_ACCOUNT, "TWILIO_AUTH_TOKEN": SMS_TOKEN, "HYBRID_PUBLIC_URL": SMS_PUBLIC_URL,
                "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", "")})
    env.update(extra)
    return env


@dataclass
class SmsReply:
    status: int
    text: str | None  # the <Message> body; None when the TwiML has no Message
    raw: str


class SmsServer:
    """A `hybrid sms serve --port 0` process on loopback, and a signed client for it."""

    def __init__(self, ws: SmsWorkspace, log_path: Path, args=(), env=None) -> None:
        import httpx

        self.ws = ws
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(REPO / "cli.py"), "-C", str(ws.root), "sms", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self._log, env=env or ws.environment(), cwd=str(REPO),
        )
        line = self._read_banner()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, f"no address in {line!r}: {self.log()}"
        self.url = f"http://127.0.0.1:{match.group(1)}"
        self.http = httpx.Client(base_url=self.url, timeout=20.0)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, f"server did not start: {self.log()}"
            time.sleep(0.05)

    def _read_banner(self) -> str:
        import select

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline().decode()
                if line.startswith("Listening on") or not line:
                    return line
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"server did not start (exit {self.proc.poll()}): {self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def post(self, params: dict, signature: str | None = "sign", path: str = "/twilio/sms",
             url: str | None = None) -> SmsReply:
        from doubles.twilio_double import sign

        headers = {}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(SMS_TOKEN, url or SMS_PUBLIC_URL + path, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        response = self.http.post(path, data=params, headers=headers)
        return SmsReply(response.status_code, _message_of(response.text), response.text)

    def send(self, body: str, sender: str = "+4915112345678", sid: str | None = None, **extra: str) -> SmsReply:
        """A signed inbound SMS, as Twilio would POST it."""
        from doubles.twilio_double import inbound_params, new_message_sid

        return self.post(inbound_params(sid or new_message_sid(), SMS_ACCOUNT, sender, SMS_NUMBER, body, **extra))

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._log.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.http.close()
        self.proc.stdout.close()
        self._log.close()


class InProcessSmsServer(SmsServer):
    """The app `hybrid sms serve` runs, served in this process: Starlette's TestClient
    drives it (lifespan included) with the workspace's settings in the environment and
    the server's log lines (redacted as `sms serve` redacts them) in a file. Same client
    interface as SmsServer; no process to start, poll or stop."""

    url = "http://testserver"

    def __init__(self, ws: SmsWorkspace, log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import logging

        from starlette.testclient import TestClient

        from sms.caller import RedactingFilter
        from sms.provider import providers_for
        from sms.serving import create_app

        self.ws = ws
        self.log_path = log_path
        for name, value in ws.environment().items():
            if os.environ.get(name) != value:
                monkeypatch.setenv(name, value)
        self._log = open(log_path, "ab")
        self._handler = logging.StreamHandler(self._log_text())
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._handler.addFilter(RedactingFilter())
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self._handler)
        root.setLevel(logging.INFO)
        ws.open_store().close()  # as `sms serve` does: a missing store or another key refuses the start
        app = create_app(ws.root, providers_for(ws.root, ws.process))
        self.http = TestClient(app, base_url=self.url, raise_server_exceptions=False)
        self.http.__enter__()  # the app's lifespan: its store threads open the store
        self.proc = None

    def _log_text(self):
        import io

        return io.TextIOWrapper(self._log, encoding="utf-8", write_through=True)

    def stop(self) -> None:
        import logging

        if self._log.closed:
            return
        try:
            self.http.__exit__(None, None, None)
        finally:
            root = logging.getLogger()
            root.removeHandler(self._handler)
            root.setLevel(self._level)
            self._handler.stream.close()

    def kill(self) -> None:
        raise AssertionError("an in-process server cannot be killed: start this one with real=True")

    @property
    def running(self) -> bool:
        return not self._log.closed


def _message_of(text: str) -> str | None:
    try:
        root = ElementTree.fromstring(text.encode())
    except ElementTree.ParseError:
        return None
    message = root.find("Message")
    return None if message is None else (message.text or "")


@pytest.fixture
def sms_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`sms_server(ws, args=(), env=None, real=False)`: the webhook server for the workspace
    (same engine and key as the test). By default the app `sms serve` runs, in this process;
    with `real`, command-line `args` or another `env`, a real `hybrid sms serve` process on
    loopback (for what only a process shows: kill -9, several processes, uvicorn's own
    options, a client from outside). Every server is stopped at the end."""
    servers: list[SmsServer] = []

    def start(ws: SmsWorkspace, args=(), env=None, real: bool = False) -> SmsServer:
        log_path = tmp_path / f"server-{len(servers) + 1}.log"
        if real or args or env is not None:
            server = SmsServer(ws, log_path, args, env)
        else:
            server = InProcessSmsServer(ws, log_path, monkeypatch)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if isinstance(server, InProcessSmsServer):
            server.stop()
        elif server.proc.poll() is None:
            server.stop()


def healthz(server: SmsServer) -> dict:
    return json.loads(server.http.get("/healthz").text)


# -- review (issue 6): a simulated, scanned batch with items of every kind ------------------

REVIEW_DECK_MIX = ("unreadable=0.15,overvote=0.1,faint_pencil=0.1,comment=0.3,cancelled_only=0.05,"
                   "circle_outside=0.05,qr_damaged=0.05,qr_layout_damaged=0.05,rescan=0,blank_pages=0,foreign_pages=0,large_print=0,"
                   "duplex_trays=0,photocopy=0,missing_page=0,feed_slip=0")


@dataclass
class ReviewWorkspace:
    """A private copy of the scanned review deck: its workspace folder, process and truth."""

    root: Path
    config: Path
    truth: dict

    @property
    def process(self):
        from hybrid.workspace import Workspace

        return Workspace(self.root).process

    def open_store(self):
        from hybrid.workspace import Workspace

        return Workspace(self.root).open_store()


@pytest.fixture(scope="session")
def review_deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`hybrid simulate` (20 ballots: overvotes, faint pencil, marks beside boxes, comments,
    damaged QR codes, unreadable pages) then `hybrid scan --received` in the window; built
    once per run, whichever worker of `-n auto` asks first. Tests take a private copy with
    `review_workspace`."""
    from hybrid.definition_file import load_process
    from paper_deck import returned_tray

    base = shared_between_workers(tmp_path_factory) / "review-deck"
    deck = base / "deck"
    with exclusive(base.with_suffix(".lock")):
        if not (base / "built").exists():
            shutil.rmtree(base, ignore_errors=True)  # a build that died half-way
            example = Path(__file__).resolve().parent.parent / "hybrid" / "examples" / "poll.yaml"
            returned_tray(load_process(example), deck, count=20, seed=3, mix=REVIEW_DECK_MIX)
            (base / "built").touch()
    return deck


@pytest.fixture
def review_workspace(review_deck: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewWorkspace:
    """A private copy of the scanned deck (store, scans, crops, key), with XDG_CONFIG_HOME set to its key."""
    import json
    import shutil

    target = tmp_path / "deck"
    shutil.copytree(review_deck / "config", target / "config")
    source_ws = review_deck / "workspace"
    root = target / "workspace"
    root.mkdir(parents=True)
    for item in source_ws.iterdir():
        if item.is_file():
            shutil.copy2(item, root / item.name)
    shutil.copytree(source_ws / "scans", root / "scans")  # the archived scans too: review renders from them
    monkeypatch.setenv("XDG_CONFIG_HOME", str(target / "config"))
    truth = json.loads((review_deck / "truth.json").read_text(encoding="utf-8"))
    return ReviewWorkspace(root=root, config=target / "config", truth=truth)
