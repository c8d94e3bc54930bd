-- The SQL of GET /v1/applications/{id} (as EF Core/Npgsql sends it): one statement, since the API key is cached in the
-- API (ApiKeyCache) and the feedback, request and delivery state are subqueries of the application query.
-- Variables (-D): tenant, sysacc, rows.
\set n random(1, :rows)
SELECT a.id, a.candidate_id, a.created_at, a.external_id, a.position_title, a.rejected_at, a.stage_reached, a.status, a.tenant_id, a.updated_at,
       c0.id, c0.created_at, c0.email, c0.erased_at, c0.external_id, c0.first_name, c0.last_name, c0.locale, c0.tenant_id, c0.updated_at,
       (SELECT f.id FROM feedback AS f WHERE (:sysacc OR f.tenant_id = :tenant) AND f.application_id = a.id LIMIT 1),
       (SELECT f.status FROM feedback AS f WHERE (:sysacc OR f.tenant_id = :tenant) AND f.application_id = a.id LIMIT 1),
       (SELECT r.id FROM feedback_requests AS r WHERE (:sysacc OR r.tenant_id = :tenant) AND r.application_id = a.id LIMIT 1),
       (SELECT o.id FROM outbound AS o INNER JOIN deliveries AS d ON o.id = d.id WHERE (:sysacc OR o.tenant_id = :tenant) AND d.application_id = a.id LIMIT 1),
       (SELECT o.status FROM outbound AS o INNER JOIN deliveries AS d ON o.id = d.id WHERE (:sysacc OR o.tenant_id = :tenant) AND d.application_id = a.id LIMIT 1)
FROM applications AS a
INNER JOIN (
    SELECT c.id, c.created_at, c.email, c.erased_at, c.external_id, c.first_name, c.last_name, c.locale, c.tenant_id, c.updated_at
    FROM candidates AS c
    WHERE :sysacc OR c.tenant_id = :tenant
) AS c0 ON a.candidate_id = c0.id
WHERE (:sysacc OR a.tenant_id = :tenant) AND a.id = (SELECT application_id FROM bench_ids WHERE n = :n)
LIMIT 2;
