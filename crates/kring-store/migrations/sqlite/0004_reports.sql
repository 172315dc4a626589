-- Reports filed by local people (not only received from other servers), their category,
-- whether they were forwarded to the reported account's server, and their resolution.
ALTER TABLE reports ADD COLUMN category TEXT NOT NULL DEFAULT 'other';
ALTER TABLE reports ADD COLUMN forwarded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN action_taken_at BIGINT;
ALTER TABLE reports ADD COLUMN action_taken_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL;
CREATE INDEX reports_open ON reports (action_taken_at, id);
