"""The store's schema: one version number and the forward migrations that reach it (DESIGN §2).

DDL uses `{id}` for an auto-numbered primary key (each engine fills in its own).
"""

from __future__ import annotations

SCHEMA_VERSION = 6

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE layouts (
        layout_hash TEXT PRIMARY KEY,
        layout_id TEXT NOT NULL,
        language TEXT NOT NULL,
        large_print INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE print_runs (
        run_id {id},
        created_at TEXT NOT NULL,
        first_serial INTEGER NOT NULL,
        last_serial INTEGER NOT NULL,
        layout_hash TEXT NOT NULL REFERENCES layouts(layout_hash),
        purpose TEXT NOT NULL
    );
    CREATE TABLE ballots (
        serial INTEGER PRIMARY KEY,
        code_hash TEXT NOT NULL UNIQUE,
        layout_hash TEXT NOT NULL REFERENCES layouts(layout_hash),
        run_id INTEGER NOT NULL REFERENCES print_runs(run_id),
        state TEXT NOT NULL DEFAULT 'issued' CHECK (state IN ('issued', 'void')),
        void_reason TEXT,
        replaced_by INTEGER,
        created_at TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        prev TEXT NOT NULL,
        mac TEXT NOT NULL
    );
    """,
    2: """
    CREATE TABLE batches (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        received TEXT NOT NULL,
        envelopes INTEGER
    );
    CREATE TABLE inputs (
        sha256 TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        batch TEXT NOT NULL REFERENCES batches(name),
        archived TEXT,
        pages INTEGER,
        complete INTEGER NOT NULL DEFAULT 0,
        problem TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE records (
        record_id {id},
        channel TEXT NOT NULL CHECK (channel IN ('paper', 'sms', 'voice')),
        code_hash TEXT,
        serial INTEGER,
        source TEXT NOT NULL,
        received_at TEXT,
        status TEXT NOT NULL,
        reasons TEXT NOT NULL DEFAULT '[]',
        choices TEXT NOT NULL DEFAULT '{}',
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX records_one_paper_record_per_code ON records (code_hash) WHERE channel = 'paper';
    CREATE INDEX records_by_code ON records (code_hash);
    CREATE TABLE pages (
        source TEXT PRIMARY KEY,
        input_sha256 TEXT NOT NULL,
        page_no INTEGER NOT NULL,
        batch TEXT NOT NULL,
        state TEXT NOT NULL,
        reasons TEXT NOT NULL DEFAULT '[]',
        code_hash TEXT,
        serial INTEGER,
        ballot_page INTEGER,
        layout_hash TEXT,
        record_id INTEGER REFERENCES records(record_id),
        mark_signature TEXT,
        reading TEXT,
        review_crop TEXT,
        comment_crop TEXT,
        message TEXT,
        received TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX pages_by_code ON pages (code_hash, ballot_page);
    CREATE INDEX pages_by_batch ON pages (batch);
    """,
    # Phones (DESIGN §7). A record per message; `own_*` is a phone vote's content on its
    # own (NULL for paper, whose status is decide_paper's), which re-deciding needs.
    # `claims` holds the one vote that uses an identity (a code, or a phone under
    # identity: phone): a UNIQUE key, so two webhook processes never both accept it.
    3: """
    ALTER TABLE records ADD COLUMN phone_hash TEXT;
    ALTER TABLE records ADD COLUMN hidden_caller INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE records ADD COLUMN own_status TEXT;
    ALTER TABLE records ADD COLUMN own_reasons TEXT;
    CREATE UNIQUE INDEX records_one_per_message ON records (source) WHERE channel <> 'paper';
    CREATE INDEX records_by_phone ON records (phone_hash);
    CREATE TABLE claims (
        identity TEXT PRIMARY KEY,
        record_id INTEGER NOT NULL REFERENCES records(record_id),
        claimed_at TEXT NOT NULL
    );
    CREATE TABLE sms_messages (
        message_sid TEXT PRIMARY KEY,
        account_sid TEXT NOT NULL,
        phone_hash TEXT,
        hidden_caller INTEGER NOT NULL DEFAULT 0,
        body TEXT,
        num_segments INTEGER,
        num_media INTEGER NOT NULL DEFAULT 0,
        via TEXT NOT NULL CHECK (via IN ('webhook', 'pull', 'import')),
        sent_at TEXT NOT NULL,
        twilio_time INTEGER NOT NULL DEFAULT 0,
        stored_at TEXT NOT NULL,
        intent TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        wrong_code INTEGER NOT NULL DEFAULT 0,
        code_hash TEXT,
        language TEXT,
        record_id INTEGER NOT NULL REFERENCES records(record_id),
        outcome TEXT NOT NULL,
        reply TEXT,
        replied INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sms_wrong_codes_by_phone ON sms_messages (phone_hash, sent_at) WHERE wrong_code = 1;
    CREATE INDEX sms_wrong_codes ON sms_messages (sent_at) WHERE wrong_code = 1;
    CREATE TABLE sms_alarms (
        hour TEXT PRIMARY KEY,
        wrong_codes INTEGER NOT NULL,
        raised_at TEXT NOT NULL
    );
    """,
    # Review (issue 6): people's decisions beside the machine's reading, never over it.
    # `review_items.version` is bumped by every decision, confirmation and undo of an item
    # (optimistic versioning: two reviewers never silently overwrite each other).
    4: """
    CREATE TABLE reviewers (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE review_items (
        item TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    );
    CREATE TABLE review_decisions (
        decision_id {id},
        item TEXT NOT NULL,
        action TEXT NOT NULL,
        record_id INTEGER,
        page_source TEXT,
        body TEXT NOT NULL DEFAULT '{}',
        machine TEXT NOT NULL DEFAULT '{}',
        reviewer TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        needs_confirmation INTEGER NOT NULL DEFAULT 0,
        confirmed_by TEXT,
        confirmed_at TEXT,
        undone_by TEXT,
        undone_at TEXT,
        applied TEXT
    );
    CREATE INDEX review_decisions_by_item ON review_decisions (item, decision_id);
    CREATE INDEX review_decisions_by_record ON review_decisions (record_id);
    """,
    # Voice calls (issue 7): the menu's state by CallSid, so any server process answers any
    # step; `state` is the menu's JSON (step, tries, choices so far). `twilio_deleted`
    # marks messages and calls that `hybrid purge` has deleted at Twilio.
    5: """
    CREATE TABLE voice_calls (
        call_sid TEXT PRIMARY KEY,
        account_sid TEXT NOT NULL,
        phone_hash TEXT,
        hidden_caller INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        language TEXT,
        state TEXT NOT NULL DEFAULT '{}',
        code_hash TEXT,
        wrong_codes INTEGER NOT NULL DEFAULT 0,
        record_id INTEGER REFERENCES records(record_id),
        outcome TEXT,
        twilio_deleted INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE sms_messages ADD COLUMN twilio_deleted INTEGER NOT NULL DEFAULT 0;
    """,
    # The self-hosted SMS gateway (issue 15, `hybrid.store.gateway`). Each webhook event
    # once (its `id` is the key: the phone retries an event with the same id); the
    # message it carried is an `sms_messages` row keyed by a keyed hash of the message
    # itself, so an inbox export (new event ids) finds it again. `sms_outbox` is the one
    # reply per message, sent later through the gateway's API: what was sent, when,
    # after how many attempts. The phone number it went to is never stored.
    6: """
    CREATE TABLE gateway_events (
        event_id TEXT PRIMARY KEY,
        message_sid TEXT NOT NULL REFERENCES sms_messages(message_sid),
        event TEXT NOT NULL,
        device_id TEXT NOT NULL,
        webhook_id TEXT,
        received_at TEXT NOT NULL,
        first_seen TEXT NOT NULL
    );
    CREATE INDEX gateway_events_by_message ON gateway_events (message_sid);
    CREATE TABLE sms_outbox (
        message_sid TEXT PRIMARY KEY REFERENCES sms_messages(message_sid),
        outbox_id TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        gateway_state TEXT,
        created_at TEXT NOT NULL,
        lease_until TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX sms_outbox_by_state ON sms_outbox (state);
    """,
}
