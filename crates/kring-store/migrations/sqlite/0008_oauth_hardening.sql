-- OAuth as strict as Mastodon's.
--
-- Client secrets are kept as SHA-256 hashes, like access tokens, so a leaked database does not
-- let anyone act as an app. SQLite has no SHA-256 in SQL: the store hashes the secrets of
-- existing apps right after migrating (Store::migrate, once: rows whose hash is still NULL)
-- and empties the old column, which new apps leave empty.
ALTER TABLE apps ADD COLUMN client_secret_hash TEXT;

-- Optional access-token lifetime (`access_token_lifetime`): when the token stops working, in
-- microseconds since the epoch; NULL for tokens that never expire (the default, as on Mastodon).
ALTER TABLE access_tokens ADD COLUMN expires_at BIGINT;
