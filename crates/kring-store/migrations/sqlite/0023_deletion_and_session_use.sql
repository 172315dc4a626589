-- A deleted account's tombstone (docs/privacy.md): when it was deleted. Its row keeps only its
-- handle, addresses and key pair; everything else about it is gone.
ALTER TABLE accounts ADD COLUMN deleted_at BIGINT;

-- When a session or app last used its token (written at most once an hour), for the person's
-- list of sessions; no address, no location (docs/privacy.md).
ALTER TABLE access_tokens ADD COLUMN last_used_at BIGINT;
