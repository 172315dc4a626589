-- Received activities are remembered per origin (the signer's host): an id is only unique
-- within the server that minted it, so one server's ids never hide another's. The old rows
-- carry no origin; they are dropped (applying an activity again is harmless where it is
-- idempotent, and ids older than the retry window do not come back).
DROP TABLE inbox_seen;
CREATE TABLE inbox_seen (
    origin TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (origin, activity_id)
);
CREATE INDEX inbox_seen_received ON inbox_seen (received_at);
