-- Diagnostic only (no API counterpart): save.sql without the audit chain (no tenant-row lock, no audit insert).
-- Shows what the per-tenant serialisation costs at the database level.
\set n :client_id * :k + random(1, :k)
SELECT a.id AS keyid, a.created_at, a.created_by, a.display_name, a.prefix, a.revoked_at, a.roles, a.secret_hash, a.tenant_id
FROM api_keys AS a
WHERE a.prefix = :prefix
LIMIT 2 \gset
SELECT f.id AS fid, f.acknowledgements, f.answers AS stored_answers, f.application_id, f.approved_at, f.approved_by_id, f.approved_by_name, f.author_name,
       f.auto_approved, f.contributors, f.created_at, f.findings, f.review_comment, f.status, f.submitted_at, f.template_id AS tpl,
       f.template_version AS tplv, f.tenant_id, f.updated_at, f.version AS ver
FROM feedback AS f
WHERE (:sysacc OR f.tenant_id = :tenant) AND f.id = (SELECT feedback_id FROM bench_ids WHERE n = :n)
LIMIT 2 \gset
SELECT t.content
FROM template_versions AS t
WHERE (:sysacc OR t.tenant_id = :tenant) AND t.template_id = :tpl AND t.number = :tplv
LIMIT 2;
SELECT t.settings
FROM tenants AS t
WHERE t.id = :tenant
LIMIT 2;
UPDATE feedback SET answers = :answers, updated_at = now(), version = :ver + 1
WHERE id = :fid AND version = :ver;
