-- The job runner claims due jobs oldest first, ordered by (run_at, id). Through an index on
-- run_at alone, every claim read all the jobs enqueued together (a post's 10,000 deliveries
-- share one run_at) to sort them by id, and its check for jobs that used up their attempts
-- read every due job's row: ~27 ms per claim with 10,000 deliveries queued, most of the
-- bookkeeping of each delivery (BENCHMARKS.md, session 17).
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (run_at, id);
CREATE INDEX jobs_attempts ON jobs (attempts);
