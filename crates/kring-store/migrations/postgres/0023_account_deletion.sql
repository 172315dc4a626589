-- A deleted account's tombstone (docs/privacy.md): when it was deleted. Its row keeps only its
-- handle, addresses and key pair; everything else about it is gone.
ALTER TABLE accounts ADD COLUMN deleted_at BIGINT;
