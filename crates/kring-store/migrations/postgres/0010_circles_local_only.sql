-- Circles: named audiences a person keeps privately. A post to a circle carries a 'circle'
-- grant (kring_core::audience::Grant::Circle) and the audience predicate reads membership
-- when the post is read, so removing a member takes earlier posts away too.
CREATE TABLE circles (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX circles_account ON circles (account_id, id);

CREATE TABLE circle_members (
    circle_id BIGINT NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (circle_id, account_id)
);
CREATE INDEX circle_members_account ON circle_members (account_id, circle_id);

-- Local-only posts: never federated, read only by this server's accounts.
ALTER TABLE statuses ADD COLUMN local_only INTEGER NOT NULL DEFAULT 0;
