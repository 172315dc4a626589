-- Data exports (docs/export-format.md): one archive per request, built in the background,
-- kept under `<data_dir>/exports/` for 7 days. `state`: 'running', 'ready' or 'failed';
-- `progress`: percent done; `file_name`: the archive's name in that folder once ready.
CREATE TABLE exports (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('running', 'ready', 'failed')),
    progress INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    ready_at BIGINT,
    file_name TEXT,
    size BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX exports_account ON exports (account_id, id);
