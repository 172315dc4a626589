-- Notifications about a group (docs/groups.md): a request to join and a report about a post
-- in it (to the group's moderators), an invitation (to the invited). `group_id` names the
-- group; `report_id` the report of `group.report` and `admin.report` notifications.
ALTER TABLE notifications ADD COLUMN group_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE;
ALTER TABLE notifications ADD COLUMN report_id BIGINT REFERENCES reports (id) ON DELETE CASCADE;
