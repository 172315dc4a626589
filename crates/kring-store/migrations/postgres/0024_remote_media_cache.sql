-- The cache of remote media (docs/media.md, "Remote media"): copies of other servers' pictures
-- (avatars and headers as fetched, attachments re-encoded) and of their video and audio, kept
-- in the media storage (the folder or the S3 bucket) so several processes share them.
-- `cache_key`: a hash of what was fetched (the remote URL itself is not kept here);
-- `file_key`: the copy's key in the media storage; `content_type`: sniffed from the bytes;
-- `last_used_at`: when a reader last got it (updated at most hourly). Removed by
-- `kring media prune` and the hourly sweep, by age of last use and a size budget.
CREATE TABLE remote_media_cache (
    cache_key TEXT PRIMARY KEY,
    file_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    cached_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL
);
CREATE INDEX remote_media_cache_used ON remote_media_cache (last_used_at);
