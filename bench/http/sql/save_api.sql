-- Diagnostic (no ratio): the SQL PUT /v1/feedback/{id}/answers sends per request, the read written out by hand after
-- EF Core's log (Logging__LogLevel__Microsoft.EntityFrameworkCore.Database.Command=Information), the write as
-- FeedbackAuthoring.WriteSavedAsync sends it. The API key, the template version's content and the tenant's compiled
-- checker are cached in the API, so a save is one read (the feedback row, whether its candidate was erased, the
-- tenant's language revision and settings), then one statement: the update if the version is still the one read, and
-- the event insert only for an updated row (no explicit transaction: one statement is atomic).
-- Variables (-D): tenant, sysacc (false: the tenant query filter), k, answers.
\set n :client_id * :k + random(1, :k)
SELECT f.id AS fid, f.acknowledgements, f.answers AS stored_answers, f.application_id, f.approved_at, f.approved_by_id, f.approved_by_name, f.author_name,
       f.auto_approved, f.contributors, f.created_at, f.findings, f.review_comment, f.status, f.submitted_at, f.template_id AS tpl,
       f.template_version AS tplv, f.tenant_id, f.updated_at, f.version AS ver,
       (SELECT c.erased_at FROM applications AS a JOIN candidates AS c ON a.candidate_id = c.id
        WHERE (:sysacc OR a.tenant_id = :tenant) AND (:sysacc OR c.tenant_id = :tenant) AND a.id = f.application_id LIMIT 1) IS NOT NULL AS erased,
       t.language_rules_revision, t.settings
FROM feedback AS f
INNER JOIN tenants AS t ON f.tenant_id = t.id
WHERE (:sysacc OR f.tenant_id = :tenant) AND f.id = (SELECT feedback_id FROM bench_ids WHERE n = :n)
LIMIT 2 \gset
WITH f AS (UPDATE feedback
           SET answers = :answers, findings = '[]', acknowledgements = '[]', status = 'Draft', contributors = :contributors,
               updated_at = now(), version = :ver + 1
           WHERE id = :fid AND tenant_id = :tenant AND version = :ver
           RETURNING id)
INSERT INTO audit_events (id, tenant_id, occurred_at, actor_id, actor_name, action, subject_type, subject_id, data)
SELECT gen_random_uuid(), :tenant, now(), NULL, 'Demo Hiring Manager', 'feedback.saved', 'feedback', f.id,
       json_build_object('version', :ver + 1, 'findings', 0, 'blocking', 0)::text
FROM f;
