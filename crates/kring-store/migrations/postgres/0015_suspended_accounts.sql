-- The audience rule first asks whether any account is suspended at all (once per statement),
-- and looks up each post's author only if so: this index answers that without a scan.
CREATE INDEX accounts_suspended ON accounts (id) WHERE suspended_at IS NOT NULL;
