-- The SQL of GET /v1/applications/{id} as EF Core/Npgsql sends it (copied from PostgreSQL's log with
-- log_statement = all): one statement, the application and its candidate with its feedback, request and delivery
-- LEFT JOINed on their unique application_id indexes. The API key is cached in the API (ApiKeyCache).
-- Variables (-D): tenant, sysacc, rows.
\set n random(1, :rows)
SELECT a.id, a.candidate_id, a.created_at, a.external_id, a.legal_hold, a.legal_hold_reason, a.legal_hold_set_at, a.legal_hold_set_by_id, a.position_title, a.rejected_at, a.stage_reached, a.status, a.tenant_id, a.updated_at,
       c0.id, c0.created_at, c0.email, c0.erased_at, c0.external_id, c0.first_name, c0.last_name, c0.locale, c0.tenant_id, c0.updated_at,
       f0.id AS "FeedbackId", f0.status AS "FeedbackStatus", f2.id AS "RequestId", s.id AS "DeliveryId", s.status AS "DeliveryStatus"
FROM applications AS a
INNER JOIN (
    SELECT c.id, c.created_at, c.email, c.erased_at, c.external_id, c.first_name, c.last_name, c.locale, c.tenant_id, c.updated_at
    FROM candidates AS c
    WHERE :sysacc OR c.tenant_id = :tenant
) AS c0 ON a.candidate_id = c0.id
LEFT JOIN (
    SELECT f.id, f.status, f.application_id AS application_id0
    FROM feedback AS f
    WHERE :sysacc OR f.tenant_id = :tenant
) AS f0 ON a.id = f0.application_id0
LEFT JOIN (
    SELECT f1.id, f1.application_id AS application_id0
    FROM feedback_requests AS f1
    WHERE :sysacc OR f1.tenant_id = :tenant
) AS f2 ON a.id = f2.application_id0
LEFT JOIN (
    SELECT o.id, o.status, d.application_id AS application_id0
    FROM outbound AS o
    INNER JOIN deliveries AS d ON o.id = d.id
    WHERE :sysacc OR o.tenant_id = :tenant
) AS s ON a.id = s.application_id0
WHERE (:sysacc OR a.tenant_id = :tenant) AND a.id = (SELECT application_id FROM bench_ids WHERE n = :n)
LIMIT 2;
