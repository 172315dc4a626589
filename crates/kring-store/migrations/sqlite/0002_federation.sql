-- Federation: remote account endpoints, per-domain delivery state and admin blocks,
-- de-duplication of received activities, and reports received from other servers.
ALTER TABLE accounts ADD COLUMN following_url TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN outbox_url TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN fetched_at BIGINT;

CREATE TABLE domains (
    domain TEXT PRIMARY KEY,
    failures BIGINT NOT NULL DEFAULT 0,
    unreachable_since BIGINT,
    last_success_at BIGINT,
    -- Admin policy: NULL, 'silence' or 'suspend'; reject_media is separate.
    block TEXT,
    reject_media INTEGER NOT NULL DEFAULT 0,
    allowed INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE inbox_seen (
    activity_id TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX inbox_seen_received ON inbox_seen (received_at);

CREATE TABLE reports (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_ids TEXT NOT NULL DEFAULT '[]',
    comment TEXT NOT NULL DEFAULT '',
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX follows_uri ON follows (uri);
CREATE INDEX follow_requests_uri ON follow_requests (uri);
