-- Fan-out writes each home-feed row into every index of the table. This one only served
-- removing an author's posts from one feed (unfollow, block), which the primary key's
-- account_id prefix serves as well: a feed holds at most 800 rows.
DROP INDEX IF EXISTS home_feed_author;
