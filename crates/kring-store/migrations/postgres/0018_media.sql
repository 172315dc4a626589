-- Media attachments (docs/media.md): local uploads, whose files live in the media storage
-- under random keys, and attachments of remote posts, known by their URL. An upload waits
-- without a status until a post takes it; the hourly sweep removes those left unattached for
-- a day (and so those of deleted posts, which fall back to no status).
CREATE TABLE media_attachments (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    -- Order within the post.
    position INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    mime TEXT NOT NULL DEFAULT '',
    file_key TEXT,
    thumbnail_key TEXT,
    file_size BIGINT NOT NULL DEFAULT 0,
    -- Mastodon's `meta` (original and small sizes) as JSON.
    meta TEXT NOT NULL DEFAULT '{}',
    description TEXT NOT NULL DEFAULT '',
    -- "x,y", each from -1 to 1; '' when unset.
    focus TEXT NOT NULL DEFAULT '',
    blurhash TEXT,
    remote_url TEXT,
    -- 0 ready; reserved for work done after the upload's answer.
    processing INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    -- When it last lost its status (or was uploaded): the sweep's clock.
    detached_at BIGINT
);
CREATE INDEX media_attachments_status ON media_attachments (status_id, position);
CREATE INDEX media_attachments_unattached ON media_attachments (detached_at) WHERE status_id IS NULL;
CREATE INDEX media_attachments_account ON media_attachments (account_id, id);
