-- Interaction controls (issue 10): who may reply to, boost, favourite and quote a post.
--
-- A post's policy is compact JSON (kring_core::InteractionPolicy), read with the post and
-- decided in the service (kring_service::interactions), never filtered on in SQL: a column
-- costs no join on any read, where a table of rule rows would be joined for every post shown.
-- NULL: a remote post whose server sent no policy (anyone who may read it may interact, as
-- servers unaware of policies assume), or a post older than this migration.
ALTER TABLE statuses ADD COLUMN interaction_policy TEXT;
-- A reply or boost awaiting approval is read by its author and by this account (who decides
-- on it) only, whatever its audience says: the one audience rule, kring_store::sql::may_read.
ALTER TABLE statuses ADD COLUMN pending_approval_by BIGINT;

-- A person's defaults for new posts, per visibility (kring_core::PolicyDefaults as JSON).
CREATE TABLE interaction_policy_defaults (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    policies TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Interactions that needed (or got) the author's approval: pending ones form the author's
-- queue; decided ones keep what was sent (the Accept or Reject) and, once accepted, the
-- authorization other servers fetch to check the interaction. Rows where the author is on
-- another server are this server's own people waiting for that server's answer.
CREATE TABLE interaction_requests (
    id BIGINT PRIMARY KEY,
    -- reply | reblog | favourite | quote
    kind TEXT NOT NULL,
    -- The post interacted with, and its author (who decides).
    status_id BIGINT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Who interacts, and with what: the reply or boost (none for a favourite).
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    interaction_status_id BIGINT REFERENCES statuses (id) ON DELETE CASCADE,
    -- The reply's or boost's ActivityPub id, or the Like's.
    interaction_uri TEXT NOT NULL,
    -- A polite request (GoToSocial's ReplyRequest, LikeRequest, AnnounceRequest), if one came.
    request_uri TEXT,
    created_at BIGINT NOT NULL,
    accepted_at BIGINT,
    rejected_at BIGINT,
    -- The Accept or Reject, and the authorization (ReplyAuthorization, …) an Accept names.
    response_uri TEXT,
    authorization_uri TEXT
);
CREATE UNIQUE INDEX interaction_requests_uri ON interaction_requests (interaction_uri);
CREATE INDEX interaction_requests_target ON interaction_requests (target_account_id, id);
CREATE INDEX interaction_requests_interaction ON interaction_requests (interaction_status_id);
CREATE INDEX interaction_requests_status ON interaction_requests (status_id);
