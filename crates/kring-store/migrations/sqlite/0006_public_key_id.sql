-- The id of the public key stored for a remote account, as its owner's document lists it.
-- A signature's keyId is mapped to its signer through this column (not by cutting the key id
-- at '#'), so key ids without a fragment and keys published as documents of their own work.
-- Accounts fetched before this column existed have none and are fetched again on their next
-- signed request.
ALTER TABLE accounts ADD COLUMN public_key_id TEXT;
CREATE INDEX accounts_public_key_id ON accounts (public_key_id);
