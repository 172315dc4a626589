-- Groups (docs/groups.md). A group is an account of actor type Group (`is_group`), so
-- Mastodon clients see `group: true` and following it is joining; the group's own record,
-- its memberships and the posts it carries live beside it.
ALTER TABLE accounts ADD COLUMN is_group INTEGER NOT NULL DEFAULT 0;

CREATE TABLE groups (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('public', 'closed', 'private')),
    -- Closed groups may keep their posts for members; private groups always do.
    members_only INTEGER NOT NULL DEFAULT 0,
    rules TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

-- One row per (group, account): a request, an invitation, a membership with its role, or a
-- ban, never two at once. A role belongs to members only, and a group has one owner.
CREATE TABLE group_memberships (
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('requested', 'invited', 'member', 'banned')),
    role TEXT CHECK ((state = 'member' AND role IN ('member', 'moderator', 'admin', 'owner'))
                     OR (state <> 'member' AND role IS NULL)),
    -- Who invited or banned.
    by_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    -- The remote Follow that asked to join, answered when a moderator decides.
    follow_uri TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
CREATE UNIQUE INDEX group_one_owner ON group_memberships (group_id) WHERE role = 'owner';
CREATE INDEX group_memberships_account ON group_memberships (account_id, state);
CREATE INDEX group_memberships_state ON group_memberships (group_id, state, account_id);

-- The posts a group carries (posted to it, or replies in it) and the group's Announce of
-- each: the group timeline, and the `group` of a status. Removing a post from the group
-- deletes its row.
CREATE TABLE group_statuses (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    announce_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX group_statuses_group ON group_statuses (group_id, status_id);
