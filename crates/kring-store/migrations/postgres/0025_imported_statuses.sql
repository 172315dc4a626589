-- Posts brought in from an archive (docs/export-format.md, "Importing"): which post here
-- each archived post became, so importing the same archive twice adds nothing twice.
-- `source_uri`: the post's id in the archive (its address on the server it came from).
CREATE TABLE imported_statuses (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    source_uri TEXT NOT NULL,
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, source_uri)
);
CREATE INDEX imported_statuses_status ON imported_statuses (status_id);
