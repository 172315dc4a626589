-- Domains a person chose not to see (Mastodon's /api/v1/domain_blocks): every post and boost
-- by an account of the domain is hidden from them, read by the audience predicate as an EXISTS
-- on (account_id, domain).
CREATE TABLE account_domain_blocks (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX account_domain_blocks_pair ON account_domain_blocks (account_id, domain);
