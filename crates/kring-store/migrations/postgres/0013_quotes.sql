-- Quote posts with consent (issue 10, FEP-044f as Mastodon 4.5 has them): which post a post
-- quotes, and whether the quoted post's author allowed it. The quoting post itself is read by
-- its own audience whatever the state; the quoted post is shown inside it only once accepted,
-- and only to viewers who may read the quoted post (the one audience rule decides that).
CREATE TABLE quotes (
    -- The quoting post.
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    -- The quoted post and its author, when known here. No foreign key: a quoted post that is
    -- deleted leaves its id behind, and the quote then shows as deleted.
    quoted_status_id BIGINT,
    quoted_account_id BIGINT,
    -- The quoted post's ActivityPub id.
    quoted_uri TEXT NOT NULL,
    -- pending | accepted | rejected | revoked
    state TEXT NOT NULL,
    -- The QuoteAuthorization that allows it (served by the quoted author's server).
    authorization_uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX quotes_quoted ON quotes (quoted_status_id, status_id);
CREATE INDEX quotes_authorization ON quotes (authorization_uri);

-- A post that replies to one post and quotes another of the same person waits for two
-- approvals of the same interaction uri: one request per kind.
DROP INDEX interaction_requests_uri;
CREATE UNIQUE INDEX interaction_requests_uri ON interaction_requests (interaction_uri, kind);
