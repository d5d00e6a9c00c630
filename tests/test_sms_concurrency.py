"""Two webhook processes on one PostgreSQL database, hammered with the same codes at the
same time, never accept a code twice (DESIGN §2: a code's use is claimed by a UNIQUE
constraint; §7: one decision for every vote of a code)."""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

from doubles.twilio_double import new_message_sid
from hybrid import audit

THANKS = "Danke! Wir haben Ihre Stimme erhalten: "
ALREADY = "Für diesen Code haben wir schon eine andere Stimme erhalten. Diese SMS wurde nicht übernommen."
DUPLICATE = "Diese Stimme hatten wir schon erhalten. Sie müssen nichts mehr tun."


def test_two_servers_on_one_postgresql_never_accept_a_code_twice(sms_workspace, sms_server, postgres_cluster,
                                                                 monkeypatch):
    monkeypatch.setenv("HYBRID_DATABASE_URL", postgres_cluster.new_database())
    ws = sms_workspace(codes={"de": 12})
    servers = [sms_server(ws, args=("--workers", "2")), sms_server(ws)]  # three processes in all
    rnd = random.Random(7)
    sends = []
    for code, _ in itertools.product(ws.codes["de"], range(10)):
        sends.append((code, f"{code} {rnd.randint(1, 4)} {rnd.randint(5, 9)}", rnd.randrange(2)))
    rnd.shuffle(sends)
    shared_sid = new_message_sid()  # the same message delivered to both at once (a retry racing the original)
    sends += [(ws.codes["de"][0], f"{ws.codes['de'][0]} 1", 0, shared_sid), (ws.codes["de"][0],
              f"{ws.codes['de'][0]} 1", 1, shared_sid)]

    def send(item):
        code, body, which, *sid = item
        reply = servers[which].send(body, sender=f"+49151{abs(hash(body)) % 10**8:08d}", sid=sid[0] if sid else None)
        return code, reply

    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(send, sends))

    assert all(reply.status == 200 for _, reply in replies)
    by_code: dict[str, Counter] = defaultdict(Counter)
    for code, reply in replies:
        kind = "received" if reply.text.startswith(THANKS) else {ALREADY: "other", DUPLICATE: "same"}[reply.text]
        by_code[code][kind] += 1
    shared = [reply.text for code, reply in replies[-2:]]
    assert shared[0] == shared[1]
    for code in ws.codes["de"]:
        assert by_code[code]["received"] == 1, (code, by_code[code])  # one "received" per code, ever

    counted = ws.query("SELECT serial, COUNT(*) FROM records WHERE status = 'counted' GROUP BY serial")
    assert sorted(counted) == [(serial, 1) for serial in range(1, 13)]
    claims = ws.query("SELECT c.identity, r.status FROM claims c JOIN records r ON r.record_id = c.record_id")
    assert len(claims) == 12 and {status for _, status in claims} == {"counted"}
    assert ws.query("SELECT COUNT(*) FROM sms_messages") == [(len(sends) - 1,)]  # the shared SID once
    store = ws.open_store()
    try:
        verdict = audit.verify(store)
        assert verdict.ok and verdict.entries >= len(sends) - 1
    finally:
        store.close()
