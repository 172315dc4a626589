-- A chat's participants read its messages from their joining on (docs/chats.md): the newest
-- message of the chat when they (re)joined. Messages up to it were written to the people in
-- it then, and stay theirs; the audience rule reads only later ones for this participant.
-- 0 for rows from before this rule: they read everything, as they did.
ALTER TABLE chat_participants ADD COLUMN joined_after BIGINT NOT NULL DEFAULT 0;
