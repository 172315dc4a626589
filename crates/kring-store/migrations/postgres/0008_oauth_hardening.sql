-- OAuth as strict as Mastodon's.
--
-- Client secrets are kept as SHA-256 hashes (lower-case hex, as the server computes them),
-- like access tokens, so a leaked database does not let anyone act as an app. Existing secrets
-- are hashed here and the old column is emptied; new apps leave it empty. (The store's
-- start-up step that does this on SQLite finds nothing left to do.)
ALTER TABLE apps ADD COLUMN client_secret_hash TEXT;
UPDATE apps
SET client_secret_hash = encode(sha256(convert_to(client_secret, 'UTF8')), 'hex'),
    client_secret = ''
WHERE client_secret_hash IS NULL;

-- Optional access-token lifetime (`access_token_lifetime`): when the token stops working, in
-- microseconds since the epoch; NULL for tokens that never expire (the default, as on Mastodon).
ALTER TABLE access_tokens ADD COLUMN expires_at BIGINT;
