"""Replies through the gateway's API, sent after the webhook has answered (issue 15).

The webhook stores a message and its reply (`sms_outbox`, state queued) in one
transaction and hands the reply, with the sender's number, to this process's
`ReplySender`; the number lives only in memory. A caller may rely on:
- Each reply is sent at most `len(RETRY_DELAYS) + 1` times, with the same gateway
  message id each time (the gateway takes an id once), backing off between tries;
  after the last failed try, or one that cannot help (wrong credentials), it is
  `failed`. A row's lease says how long this process still holds it.
- What happened is written to `sms_outbox` (state, attempts, last error, the gateway's
  state, sent_at), several rows per short transaction, at least every `FLUSH_SECONDS`.
- `stop()` stops taking new tries, waits for the ones under way, writes what it knows
  and releases the lease of every reply not yet sent: the phone retries an event until
  it is answered 2xx, but it was answered already, so such a reply is sent only when the
  same message reaches a server again (an inbox export, `sms pull`), and `hybrid sms`
  lists it as not sent meanwhile.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hybrid.store import worth_retrying
from hybrid.store.gateway import SendResult, mark_results
from hybrid.workspace import Workspace
from sms.gateway_api import GatewayApi, GatewayError
from sms.gateway_config import GatewayConfig

RETRY_DELAYS = (2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 120.0, 300.0)  # about 9 minutes in all
LEASE_MARGIN = 60.0  # a queued reply stays this process's this long after its next try is due
FLUSH_SECONDS = 0.25
SENDER_THREADS = 2
SCALE_ENV = "HYBRID_GATEWAY_RETRY_SCALE"  # tests and the demo only: shrink the delays

log = logging.getLogger("hybrid.sms.gateway")


@dataclass(frozen=True)
class Reply:
    message_sid: str
    outbox_id: str
    number: str  # in memory only
    text: str
    attempts: int = 0  # tries before this one


def lease_for(attempts: int) -> float:
    """How long a reply with `attempts` tries behind it stays leased to its process."""
    return _scale() * RETRY_DELAYS[min(attempts, len(RETRY_DELAYS) - 1)] + LEASE_MARGIN


def _scale() -> float:
    try:
        return max(0.0, float(os.environ.get(SCALE_ENV, "1")))
    except ValueError:
        return 1.0


class ReplySender:
    def __init__(self, config: GatewayConfig, workspace: Path) -> None:
        self.config = config
        self.workspace = workspace
        self._due: list[tuple[float, int, Reply]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._results: list[SendResult] = []
        self._results_lock = threading.Lock()
        self._stopping = threading.Event()
        self._final = threading.Event()
        self._busy = 0
        self._threads: list[threading.Thread] = []
        self.scale = _scale()

    def start(self) -> None:
        for n in range(SENDER_THREADS):
            thread = threading.Thread(target=self._send_loop, name=f"hybrid-gateway-send-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        flusher = threading.Thread(target=self._flush_loop, name="hybrid-gateway-outbox", daemon=True)
        flusher.start()
        self._threads.append(flusher)

    def submit(self, reply: Reply) -> None:
        with self._cond:
            heapq.heappush(self._due, (time.monotonic(), next(self._seq), reply))
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._due) + self._busy

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads[:-1]:
            thread.join(timeout)
        with self._cond:
            left = [reply for _, _, reply in self._due]
            self._due.clear()
        self._add(*[SendResult(r.message_sid, "queued", r.attempts, "server stopped before sending") for r in left])
        self._final.set()
        self._threads[-1].join(timeout)
        if left:
            log.warning("stopped with %d replies not yet sent (see `hybrid sms`)", len(left))

    # -- the threads -------------------------------------------------------------------

    def _send_loop(self) -> None:
        api = GatewayApi(self.config)
        try:
            while True:
                reply = self._next()
                if reply is None:
                    return
                try:
                    self._add(self._try(api, reply))
                finally:
                    with self._cond:
                        self._busy -= 1
        finally:
            api.close()

    def _next(self) -> Reply | None:
        with self._cond:
            while not self._stopping.is_set():
                if self._due:
                    due, _, reply = self._due[0]
                    wait = due - time.monotonic()
                    if wait <= 0:
                        heapq.heappop(self._due)
                        self._busy += 1
                        return reply
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _try(self, api: GatewayApi, reply: Reply) -> SendResult:
        attempts = reply.attempts + 1
        try:
            state = api.send(reply.outbox_id, reply.number, reply.text)
        except GatewayError as exc:
            if not exc.retry or attempts > len(RETRY_DELAYS):
                log.error("reply for message %s not sent after %d tries: %s", reply.message_sid, attempts, exc)
                return SendResult(reply.message_sid, "failed", attempts, str(exc))
            delay = RETRY_DELAYS[attempts - 1] * self.scale
            log.info("reply for message %s: %s; trying again in %.0f s", reply.message_sid, exc, delay)
            with self._cond:
                heapq.heappush(self._due, (time.monotonic() + delay, next(self._seq),
                                           Reply(reply.message_sid, reply.outbox_id, reply.number, reply.text, attempts)))
                self._cond.notify()
            return SendResult(reply.message_sid, "queued", attempts, str(exc), lease_seconds=delay + LEASE_MARGIN)
        return SendResult(reply.message_sid, "sent", attempts, None, gateway_state=state)

    def _add(self, *results: SendResult) -> None:
        with self._results_lock:
            self._results.extend(results)

    def _flush_loop(self) -> None:
        store = None
        try:
            while True:
                final = self._final.wait(FLUSH_SECONDS)  # set by stop() once nothing can be added
                with self._results_lock:
                    batch, self._results = self._results, []
                if batch:
                    store = store or Workspace(self.workspace).open_store()
                    self._write(store, batch)
                if final:
                    return
        finally:
            if store is not None:
                store.close()

    def _write(self, store, batch: list[SendResult]) -> None:
        for attempt in range(8):
            try:
                mark_results(store, batch)
                return
            except Exception as exc:
                if worth_retrying(exc) and attempt < 7:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                log.error("could not record %d reply results: %s: %s", len(batch), type(exc).__name__, exc)
                return
