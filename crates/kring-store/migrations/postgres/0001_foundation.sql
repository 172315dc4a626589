-- Kring foundation schema. Ids are time-sortable BIGINTs made by the application; times are
-- BIGINT microseconds since the epoch; JSON is TEXT; flags are INTEGER 0/1 (sqlx's Any driver cannot read a SQLite BOOLEAN). The same statements run on SQLite and
-- PostgreSQL (kept in two folders so either may diverge later, forward-only).

CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL,
    domain TEXT NOT NULL DEFAULT '',
    display_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    note_html TEXT NOT NULL DEFAULT '',
    fields TEXT NOT NULL DEFAULT '[]',
    bot INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    discoverable INTEGER NOT NULL DEFAULT 1,
    indexable INTEGER NOT NULL DEFAULT 1,
    hide_collections INTEGER NOT NULL DEFAULT 0,
    avatar_url TEXT,
    header_url TEXT,
    uri TEXT NOT NULL,
    url TEXT NOT NULL,
    inbox_url TEXT NOT NULL DEFAULT '',
    shared_inbox_url TEXT,
    followers_url TEXT NOT NULL DEFAULT '',
    public_key_pem TEXT NOT NULL DEFAULT '',
    private_key_pem TEXT,
    also_known_as TEXT NOT NULL DEFAULT '[]',
    moved_to_id BIGINT,
    followers_count BIGINT NOT NULL DEFAULT 0,
    following_count BIGINT NOT NULL DEFAULT 0,
    statuses_count BIGINT NOT NULL DEFAULT 0,
    last_status_at BIGINT,
    suspended_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_handle ON accounts (lower(username), domain);
CREATE UNIQUE INDEX accounts_uri ON accounts (uri);

CREATE TABLE users (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'user',
    approved INTEGER NOT NULL,
    confirmed INTEGER NOT NULL,
    reason TEXT,
    locale TEXT NOT NULL DEFAULT 'en',
    default_visibility TEXT NOT NULL DEFAULT 'public',
    default_sensitive INTEGER NOT NULL DEFAULT 0,
    default_language TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE apps (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    website TEXT,
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Tokens are stored as SHA-256 hashes: a leaked database does not leak sessions.
CREATE TABLE access_tokens (
    id BIGINT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    refresh_hash TEXT UNIQUE,
    app_id BIGINT REFERENCES apps (id) ON DELETE CASCADE,
    account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_account ON access_tokens (account_id);

CREATE TABLE auth_codes (
    code_hash TEXT PRIMARY KEY,
    app_id BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,
    challenge_method TEXT,
    expires_at BIGINT NOT NULL
);

CREATE TABLE follows (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    show_reblogs INTEGER NOT NULL DEFAULT 1,
    notify INTEGER NOT NULL DEFAULT 0,
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX follows_pair ON follows (account_id, target_id);
CREATE INDEX follows_target ON follows (target_id, account_id);

CREATE TABLE follow_requests (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    show_reblogs INTEGER NOT NULL DEFAULT 1,
    notify INTEGER NOT NULL DEFAULT 0,
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX follow_requests_pair ON follow_requests (account_id, target_id);
CREATE INDEX follow_requests_target ON follow_requests (target_id, id);

CREATE TABLE blocks (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX blocks_pair ON blocks (account_id, target_id);
CREATE INDEX blocks_target ON blocks (target_id, account_id);

CREATE TABLE mutes (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    notifications INTEGER NOT NULL DEFAULT 1,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX mutes_pair ON mutes (account_id, target_id);

CREATE TABLE endorsements (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX endorsements_pair ON endorsements (account_id, target_id);

CREATE TABLE account_notes (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    comment TEXT NOT NULL,
    PRIMARY KEY (account_id, target_id)
);

CREATE TABLE statuses (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    url TEXT NOT NULL,
    local INTEGER NOT NULL,
    in_reply_to_id BIGINT,
    in_reply_to_account_id BIGINT,
    reblog_of_id BIGINT REFERENCES statuses (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive INTEGER NOT NULL DEFAULT 0,
    language TEXT,
    -- Mastodon's label, for display; who may read is decided by public/listed + status_audience.
    visibility TEXT NOT NULL,
    public INTEGER NOT NULL,
    listed INTEGER NOT NULL,
    application_id BIGINT,
    replies_count BIGINT NOT NULL DEFAULT 0,
    reblogs_count BIGINT NOT NULL DEFAULT 0,
    favourites_count BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    edited_at BIGINT
);
CREATE UNIQUE INDEX statuses_uri ON statuses (uri);
CREATE INDEX statuses_account ON statuses (account_id, id);
CREATE INDEX statuses_reply ON statuses (in_reply_to_id);
CREATE INDEX statuses_conversation ON statuses (conversation_id, id);
CREATE UNIQUE INDEX statuses_reblog ON statuses (account_id, reblog_of_id) WHERE reblog_of_id IS NOT NULL;
CREATE INDEX statuses_reblog_of ON statuses (reblog_of_id) WHERE reblog_of_id IS NOT NULL;
CREATE INDEX statuses_listed ON statuses (id) WHERE listed = 1;
CREATE INDEX statuses_listed_local ON statuses (id) WHERE listed = 1 AND local = 1;

-- The audience of non-public posts: one row per grant (see kring_core::audience).
CREATE TABLE status_audience (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    PRIMARY KEY (status_id, kind, target_id)
);
CREATE INDEX status_audience_target ON status_audience (kind, target_id, status_id);

CREATE TABLE mentions (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, account_id)
);

CREATE TABLE tags (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tags_name ON tags (lower(name));

CREATE TABLE status_tags (
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, tag_id)
);
CREATE INDEX status_tags_tag ON status_tags (tag_id, status_id);

CREATE TABLE status_edits (
    id BIGINT PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    spoiler_text TEXT NOT NULL,
    sensitive INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);

CREATE TABLE favourites (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX favourites_pair ON favourites (account_id, status_id);
CREATE INDEX favourites_status ON favourites (status_id, id);

CREATE TABLE bookmarks (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX bookmarks_pair ON bookmarks (account_id, status_id);

CREATE TABLE pins (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX pins_pair ON pins (account_id, status_id);

CREATE TABLE idempotency_keys (
    account_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    status_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- Home feeds, written when a post is made (fan-out on write) and capped per account.
-- entry_id is the feed item: the status itself, or the boost.
CREATE TABLE home_feed (
    account_id BIGINT NOT NULL,
    entry_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    PRIMARY KEY (account_id, entry_id)
);
CREATE INDEX home_feed_author ON home_feed (account_id, author_id);
CREATE INDEX home_feed_entry ON home_feed (entry_id);

CREATE TABLE lists (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    replies_policy TEXT NOT NULL DEFAULT 'list',
    exclusive INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lists_account ON lists (account_id);

CREATE TABLE list_accounts (
    list_id BIGINT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, account_id)
);
CREATE INDEX list_accounts_account ON list_accounts (account_id);

CREATE TABLE notifications (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    from_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_account ON notifications (account_id, id);

CREATE TABLE markers (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline TEXT NOT NULL,
    last_read_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, timeline)
);

CREATE TABLE filters (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    context TEXT NOT NULL,
    action TEXT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX filters_account ON filters (account_id);

CREATE TABLE filter_keywords (
    id BIGINT PRIMARY KEY,
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    keyword TEXT NOT NULL,
    whole_word INTEGER NOT NULL
);
CREATE INDEX filter_keywords_filter ON filter_keywords (filter_id);

CREATE TABLE filter_statuses (
    id BIGINT PRIMARY KEY,
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL
);
CREATE INDEX filter_statuses_filter ON filter_statuses (filter_id);

-- One job queue for everything deferred (delivery, inbox processing, feed trimming).
CREATE TABLE jobs (
    id BIGINT PRIMARY KEY,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);

-- Server-wide settings editable by admins (title, description, ...).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE rules (
    id BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    hint TEXT NOT NULL DEFAULT '',
    position BIGINT NOT NULL
);
