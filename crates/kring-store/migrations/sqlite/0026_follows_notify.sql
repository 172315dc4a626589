-- A post reads its author's followers who asked to be notified of new posts. Through
-- follows_target that read looked at every follower's row (10,000 rows for 10,000 followers:
-- 27-64 ms of each such POST, BENCHMARKS.md session 15); this index holds only those who asked.
CREATE INDEX follows_notify ON follows (target_id, account_id) WHERE notify = 1;
