-- The limit for PUT /v1/feedback/{id}/answers, as issue 15 defines it: the minimal SQL a save needs, the feedback
-- update (moving its version) and its audit event insert in one transaction, pipelined (one round trip), no tenant lock.
-- Variables (-D): tenant, k (rows per client), answers. Each client owns k feedback rows (bench_ids.n), so clients never
-- race on one row.
\set n :client_id * :k + random(1, :k)
BEGIN;
\startpipeline
UPDATE feedback SET answers = :answers, updated_at = now(), version = version + 1
WHERE id = (SELECT feedback_id FROM bench_ids WHERE n = :n);
INSERT INTO audit_events (id, action, actor_id, actor_name, data, leaf_hash, occurred_at, sequence, subject_id, subject_type, tenant_id)
VALUES (gen_random_uuid(), 'feedback.saved', NULL, 'Demo Hiring Manager', json_build_object('version', 2, 'findings', 0, 'blocking', 0)::text,
        NULL, now(), NULL, (SELECT feedback_id FROM bench_ids WHERE n = :n), 'feedback', :tenant)
RETURNING position;
\endpipeline
COMMIT;
