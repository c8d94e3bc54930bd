-- The SQL of PUT /v1/feedback/{id}/answers, statement for statement as EF Core/Npgsql sends it
-- (captured with Logging__LogLevel__Microsoft.EntityFrameworkCore.Database.Command=Information).
-- Variables (-D): prefix, tenant, sysacc (false: the tenant query filter), k (rows per client).
-- Each pgbench client owns k feedback rows (bench_ids.n), so clients never race on one row's version.
\set n :client_id * :k + random(1, :k)
-- 1. authentication: the API key by prefix (the API then compares SHA-256 of the token in .NET)
SELECT a.id AS keyid, a.created_at, a.created_by, a.display_name, a.prefix, a.revoked_at, a.roles, a.secret_hash, a.tenant_id
FROM api_keys AS a
WHERE a.prefix = :prefix
LIMIT 2 \gset
-- 2. the feedback row (tracked)
SELECT f.id AS fid, f.acknowledgements, f.answers AS stored_answers, f.application_id, f.approved_at, f.approved_by_id, f.approved_by_name, f.author_name,
       f.auto_approved, f.contributors, f.created_at, f.findings, f.review_comment, f.status, f.submitted_at, f.template_id AS tpl,
       f.template_version AS tplv, f.tenant_id, f.updated_at, f.version AS ver
FROM feedback AS f
WHERE (:sysacc OR f.tenant_id = :tenant) AND f.id = (SELECT feedback_id FROM bench_ids WHERE n = :n)
LIMIT 2 \gset
-- 3. the template version's content, 4. the tenant's settings (jurisdiction for the language check)
SELECT t.content
FROM template_versions AS t
WHERE (:sysacc OR t.tenant_id = :tenant) AND t.template_id = :tpl AND t.number = :tplv
LIMIT 2;
SELECT t.settings
FROM tenants AS t
WHERE t.id = :tenant
LIMIT 2;
-- 5. SaveChangesAsync: one batch (one round trip) in a transaction: the row's update and the audit event's insert.
--    No tenant lock: the worker's sealer places the event in the tenant's Merkle tree afterwards.
BEGIN;
\startpipeline
UPDATE feedback SET answers = :answers, updated_at = now(), version = :ver + 1
WHERE id = :fid AND version = :ver;
INSERT INTO audit_events (id, action, actor_id, actor_name, data, leaf_hash, occurred_at, sequence, subject_id, subject_type, tenant_id)
VALUES (gen_random_uuid(), 'feedback.saved', :keyid, 'Demo Hiring Manager', json_build_object('version', :ver + 1, 'findings', 0, 'blocking', 0)::text,
        NULL, now(), NULL, :fid, 'feedback', :tenant)
RETURNING position;
\endpipeline
COMMIT;
