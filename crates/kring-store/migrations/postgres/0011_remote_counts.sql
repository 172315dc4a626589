-- What a remote account's own server says of it: the totalItems of its followers, following
-- and outbox collections, and when they were last read (by a refresh a signed-in person's view
-- of the profile asked for once the last reading was a day old). NULL: never read, or not
-- given. Shown as the larger of this and what is counted here (see `rows::AccountRow`).
ALTER TABLE accounts ADD COLUMN remote_followers_count BIGINT;
ALTER TABLE accounts ADD COLUMN remote_following_count BIGINT;
ALTER TABLE accounts ADD COLUMN remote_statuses_count BIGINT;
ALTER TABLE accounts ADD COLUMN collections_fetched_at BIGINT;
