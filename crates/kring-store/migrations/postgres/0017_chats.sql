-- Group chats (docs/chats.md). A chat is a record with its participants; its messages are
-- statuses linked to it, whose audience is the one grant `chat` (read when the message is).
CREATE TABLE chats (
    id BIGINT PRIMARY KEY,
    -- The chat's `context` URI, owned by its home server: the same chat on every server.
    uri TEXT NOT NULL,
    -- 1 when this server is the chat's home (the authority on its name and participants).
    local INTEGER NOT NULL,
    name TEXT,
    creator_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    managers TEXT NOT NULL CHECK (managers IN ('creator', 'everyone')),
    -- The home server's count of changes to name, managers and participants: a server
    -- applies a state it is told only if it is newer than the one it has (they may cross).
    version BIGINT NOT NULL DEFAULT 0,
    -- The newest message's id (or the chat's own at creation): inbox order.
    activity_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX chats_uri ON chats (uri);

-- One row per (chat, account). The inbox state (place, unread, last read, muted) belongs to
-- active participants only; a participant who left or was removed keeps a row (so a removal
-- is remembered and federated) but reads nothing.
CREATE TABLE chat_participants (
    chat_id BIGINT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('active', 'left', 'removed')),
    place TEXT CHECK ((state = 'active' AND place IN ('inbox', 'requests', 'hidden'))
                      OR (state <> 'active' AND place IS NULL)),
    muted INTEGER NOT NULL DEFAULT 0,
    unread BIGINT NOT NULL DEFAULT 0,
    last_read_id BIGINT,
    -- Who removed them.
    by_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (chat_id, account_id)
);
CREATE INDEX chat_participants_account ON chat_participants (account_id, state, chat_id);

-- The messages of each chat.
CREATE TABLE chat_messages (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    chat_id BIGINT NOT NULL REFERENCES chats (id) ON DELETE CASCADE
);
CREATE INDEX chat_messages_chat ON chat_messages (chat_id, status_id);
