-- Group moderation (docs/groups.md): a post a moderator removed stays recorded as removed
-- (the group's "removed posts", and so a later delivery of it is not taken in again); every
-- moderator's action is logged for the group's admins; a report about a post in a group
-- goes to that group's moderators as well as the server's.
ALTER TABLE group_statuses ADD COLUMN removed_at BIGINT;
ALTER TABLE group_statuses ADD COLUMN removed_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL;
ALTER TABLE group_statuses ADD COLUMN removal_reason TEXT NOT NULL DEFAULT '';

CREATE TABLE group_moderation_log (
    id BIGINT PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Who acted (kept as NULL once their account is gone).
    actor_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    -- No foreign key: the log remembers a removal after the post itself is deleted.
    target_status_id BIGINT,
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX group_moderation_log_group ON group_moderation_log (group_id, id);

ALTER TABLE reports ADD COLUMN group_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL;
CREATE INDEX reports_group ON reports (group_id, id);
