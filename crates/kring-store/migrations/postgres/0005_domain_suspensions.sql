-- Accounts suspended because their domain was suspended (and not for another reason), so
-- that lifting the domain's suspension restores exactly those.
ALTER TABLE accounts ADD COLUMN domain_suspended INTEGER NOT NULL DEFAULT 0;
