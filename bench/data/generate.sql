-- Bulk data for one tenant, set-based (generate_series), for page-time benches at 1,000 to 1,000,000 applications.
-- Run through bench/data/generate.sh (it sets the psql variables):
--   :'tenant'   tenant name (the seeded demo tenant, "Acme Robotics")
--   :n          applications wanted under :'prefix' (a top-up: rows 1..n that already exist are kept)
--   :inflight   applications of the last 14 days whose feedback is still moving (drafts, submitted, changes requested,
--               waiting requests); the other n - inflight are history: approved, and delivered where the candidate asked
--   :'prefix'   external-id prefix of generated rows ("gen")
-- Ids are md5 of (tenant, prefix, kind, i): rerunning with the same n adds nothing, a larger n adds the difference.
-- The shapes are the ones EF Core writes (jsonb answers/findings as FeedbackConfiguration maps them, enum names as
-- strings, contributors as uuid[]).
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE gen_ctx ON COMMIT DROP AS
SELECT t.id AS tenant_id,
       tv.template_id, tv.number AS template_version, tv.content,
       (SELECT id FROM people p WHERE p.tenant_id = t.id AND p.normalized_email = 'INTERVIEWER@ACME-ROBOTICS.EXAMPLE') AS ivy,
       (SELECT id FROM people p WHERE p.tenant_id = t.id AND 'legal' = ANY(p.roles) ORDER BY created_at LIMIT 1) AS approver,
       (SELECT display_name FROM people p WHERE p.tenant_id = t.id AND 'legal' = ANY(p.roles) ORDER BY created_at LIMIT 1) AS approver_name,
       now() - interval '330 days' AS t0, now() - interval '1 hour' AS t1
FROM tenants t
JOIN templates tm ON tm.tenant_id = t.id AND tm.name = 'Software engineering interview'
JOIN template_versions tv ON tv.template_id = tm.id AND tv.status = 'Published'
WHERE t.name = :'tenant'
ORDER BY tv.number DESC LIMIT 1;
DO $$ BEGIN
  IF (SELECT count(*) FROM gen_ctx) = 0 THEN RAISE EXCEPTION 'tenant or its published "Software engineering interview" template not found (run seed-demo first)'; END IF;
  IF (SELECT ivy FROM gen_ctx) IS NULL THEN RAISE EXCEPTION 'demo person interviewer@acme-robotics.example not found (run seed-demo first)'; END IF;
END $$;

-- Interviewers who wrote the feedback: 10 write the in-flight work (the demo interviewer is number 0), and one more
-- per 200 applications wrote the history (so a person's share stays about the same as the tenant grows).
CREATE TEMP TABLE gen_people ON COMMIT DROP AS
SELECT k, CASE WHEN k = 0 THEN c.ivy ELSE md5(c.tenant_id::text || :'prefix' || 'person' || k)::uuid END AS id,
       CASE WHEN k = 0 THEN (SELECT display_name FROM people WHERE id = c.ivy) ELSE 'Interviewer ' || k END AS name
FROM gen_ctx c, generate_series(0, greatest(10, :n / 200)) k;
INSERT INTO people (id, tenant_id, display_name, roles, created_at, created_by, muted_notifications, user_name, normalized_user_name,
                    email, normalized_email, email_confirmed, security_stamp, concurrency_stamp, phone_number_confirmed,
                    two_factor_enabled, lockout_enabled, access_failed_count)
SELECT g.id, c.tenant_id, g.name, '{interviewer}', c.t0, 'bench-data', '{}', e, upper(e), e, upper(e), true,
       md5(g.id::text || 'stamp'), md5(g.id::text || 'cc'), false, false, true, 0
FROM gen_people g, gen_ctx c, LATERAL (SELECT :'prefix' || '-interviewer-' || g.k || '@acme-robotics.example' AS e) x
WHERE g.k > 0
ON CONFLICT (id) DO NOTHING;

-- Three answer sets built from the template itself (every criterion, a band, a phrase, comments); variant 2 keeps a
-- blocking "too old" in its first comment, with the finding the checker stores for it.
CREATE TEMP TABLE gen_answers ON COMMIT DROP AS
WITH crit AS (
  SELECT v, cr.value AS c, cr.ordinality - 1 AS ci
  FROM gen_ctx, generate_series(0, 2) v, jsonb_array_elements(content->'criteria') WITH ORDINALITY cr
), a AS (
  SELECT v, ci, c->>'key' AS criterion,
         c->'bands'->(v % jsonb_array_length(c->'bands')) AS band,
         CASE WHEN (c->'comment'->>'allowed')::boolean THEN
           CASE WHEN v = 2 AND ci = 0 THEN 'You explained your reasoning clearly. You seemed a bit too old for a fast team.'
                WHEN (v + ci) % 2 = 0 THEN 'You explained your reasoning clearly and checked your work before moving on to the next step.'
                ELSE NULL END END AS comment
  FROM crit
)
SELECT v,
       jsonb_agg(jsonb_build_object('band', band->>'key', 'comment', comment,
                 'phrases', CASE WHEN ci % 2 = 0 AND jsonb_array_length(COALESCE(band->'phrases', '[]')) > 0
                                 THEN jsonb_build_array(band->'phrases'->0) ELSE '[]'::jsonb END,
                 'criterion', criterion) ORDER BY ci) AS answers,
       CASE WHEN v = 2 THEN jsonb_build_array(jsonb_build_object('path', 'answers[0].comment', 'finding', jsonb_build_object(
              'match', 'too old', 'start', 55, 'length', 7,
              'reason', 'Calls the candidate too old or too young, a direct reference to age.',
              'ruleId', 'age.too-old-or-young', 'category', 'age', 'severity', 'block',
              'suggestion', 'State the job-related requirement the candidate did not meet (e.g. a skill or level of responsibility).')))
            ELSE '[]'::jsonb END AS findings
FROM a GROUP BY v;

-- Rows: :inflight live ones (key live-j, created over the last 14 days) and n - :inflight history ones (key i,
-- spread over the 316 days before), so a top-up to a larger n only adds history and the live work stays the same.
CREATE TEMP TABLE gen_rows ON COMMIT DROP AS
SELECT x.i, x.key,
       md5(c.tenant_id::text || :'prefix' || 'cand' || x.key)::uuid AS candidate_id,
       md5(c.tenant_id::text || :'prefix' || 'app' || x.key)::uuid AS application_id,
       md5(c.tenant_id::text || :'prefix' || 'fb' || x.key)::uuid AS feedback_id,
       md5(c.tenant_id::text || :'prefix' || 'req' || x.key)::uuid AS request_id,
       md5(c.tenant_id::text || :'prefix' || 'dlv' || x.key)::uuid AS delivery_id,
       CASE WHEN x.inflight THEN c.t1 - interval '14 days' * (1 - x.i::float8 / greatest(:inflight, 1))
            ELSE c.t0 + (c.t1 - interval '14 days' - c.t0) * (x.i::float8 / greatest(:n - :inflight, 1)) END AS created,
       x.inflight,
       hh.h,
       hh.h % 10 <> 9 AS has_feedback -- 90% (a column, not an EXISTS over gen_fb: that was quadratic at a million rows)
FROM gen_ctx c,
     LATERAL (SELECT j AS i, 'live-' || j AS key, true AS inflight FROM generate_series(1, least(:inflight, :n)) j
              UNION ALL
              SELECT i, i::text, false FROM generate_series(1, :n - least(:inflight, :n)) i) x,
     LATERAL (SELECT abs(hashint4(x.i)) % 100 AS h) hh
WHERE NOT EXISTS (SELECT 1 FROM applications a WHERE a.id = md5(c.tenant_id::text || :'prefix' || 'app' || x.key)::uuid);

INSERT INTO candidates (id, tenant_id, external_id, first_name, last_name, email, locale, created_at, updated_at)
SELECT r.candidate_id, c.tenant_id, :'prefix' || '-cand-' || r.key,
       (ARRAY['Ada','Grace','Alan','Katherine','Edsger','Barbara','Donald','Frances','Ken','Radia'])[1 + r.i % 10],
       (ARRAY['Lovelace','Hopper','Turing','Johnson','Dijkstra','Liskov','Knuth','Allen','Thompson','Perlman'])[1 + (r.i / 10) % 10] || ' ' || r.i,
       :'prefix' || '-' || r.key || '@example.com', CASE WHEN r.h < 20 THEN 'en-GB' END, r.created, r.created
FROM gen_rows r, gen_ctx c;

-- In flight: active; history: mostly rejected (the candidates who ask for feedback), some hired or withdrawn.
INSERT INTO applications (id, tenant_id, external_id, candidate_id, position_title, stage_reached, status, rejected_at,
                          created_at, updated_at, legal_hold)
SELECT r.application_id, c.tenant_id, :'prefix' || '-app-' || r.key, r.candidate_id,
       (ARRAY['Backend Engineer','Frontend Engineer','Site Reliability Engineer','Data Engineer','Engineering Manager'])[1 + r.i % 5],
       (ARRAY['phone-screen','technical','onsite'])[1 + r.i % 3], s.status,
       CASE WHEN s.status = 'Rejected' THEN r.created + interval '10 days' END,
       r.created, r.created + CASE WHEN r.inflight THEN interval '0' ELSE interval '10 days' END, false
FROM gen_rows r, gen_ctx c,
     LATERAL (SELECT CASE WHEN r.inflight THEN 'Active' WHEN r.h < 80 THEN 'Rejected' WHEN r.h < 90 THEN 'Hired' ELSE 'Withdrawn' END AS status) s;

-- Feedback on 90% of applications. In flight: 50% drafts, 30% submitted, 10% changes requested, 10% approved;
-- history: approved. In flight the 10 in-flight interviewers write it; history any interviewer.
CREATE TEMP TABLE gen_fb ON COMMIT DROP AS
SELECT r.*, CASE WHEN NOT r.inflight THEN 'Approved' WHEN r.h < 50 THEN 'Draft' WHEN r.h < 80 THEN 'Submitted'
                 WHEN r.h < 90 THEN 'ChangesRequested' ELSE 'Approved' END AS status,
       g.id AS author_id, g.name AS author_name
FROM gen_rows r
JOIN gen_people g ON g.k = CASE WHEN r.inflight THEN r.i % 10 ELSE r.i % (SELECT count(*) FROM gen_people) END
WHERE r.has_feedback;
INSERT INTO feedback (id, tenant_id, application_id, template_id, template_version, status, answers, findings, acknowledgements,
                      contributors, author_name, created_at, updated_at, submitted_at, approved_at, approved_by_id,
                      approved_by_name, auto_approved, review_comment, version)
SELECT f.feedback_id, c.tenant_id, f.application_id, c.template_id, c.template_version, f.status,
       a.answers, a.findings, '[]', ARRAY[f.author_id], f.author_name,
       f.created + interval '1 day', f.created + interval '2 days',
       CASE WHEN f.status <> 'Draft' THEN f.created + interval '2 days' END,
       CASE WHEN f.status = 'Approved' THEN f.created + interval '3 days' END,
       CASE WHEN f.status = 'Approved' THEN c.approver END,
       CASE WHEN f.status = 'Approved' THEN c.approver_name END, false,
       CASE WHEN f.status = 'ChangesRequested' THEN 'Please describe the system design exercise in terms of the requirements.' END,
       CASE f.status WHEN 'Draft' THEN 2 WHEN 'Submitted' THEN 3 ELSE 4 END
FROM gen_fb f, gen_ctx c, gen_answers a
WHERE a.v = CASE WHEN f.status = 'Draft' THEN f.i % 3 ELSE f.i % 2 END;

-- Candidate requests: 30% of history (all answered: a sent feedback email where the feedback exists), 40% in flight
-- (waiting: no email sent yet).
CREATE TEMP TABLE gen_req ON COMMIT DROP AS
SELECT r.*
FROM gen_rows r WHERE CASE WHEN r.inflight THEN r.h % 5 < 2 ELSE r.h % 10 < 3 END;
-- answered_at: what the database's trigger sets when a feedback email is accepted (inserted here already sent).
INSERT INTO feedback_requests (id, tenant_id, application_id, requested_at, note, answered_at)
SELECT q.request_id, c.tenant_id, q.application_id, q.created + interval '11 days',
       CASE WHEN q.h < 30 THEN 'I would appreciate any pointers on the system design part.' END,
       CASE WHEN NOT q.inflight AND q.has_feedback THEN q.created + interval '12 days' END
FROM gen_req q, gen_ctx c;
INSERT INTO outbound (id, tenant_id, channel, status, due_at, possible_duplicate, sent_at, created_at, updated_at)
SELECT q.delivery_id, c.tenant_id, 'feedback-email', 'Sent', q.created + interval '12 days', false,
       q.created + interval '12 days', q.created + interval '11 days', q.created + interval '12 days'
FROM gen_req q, gen_ctx c WHERE NOT q.inflight AND q.has_feedback;
INSERT INTO deliveries (id, application_id, feedback_id, request_id, message_id)
SELECT q.delivery_id, q.application_id, q.feedback_id, q.request_id, '<' || q.delivery_id || '@feedbackhub.bench>'
FROM gen_req q WHERE NOT q.inflight AND q.has_feedback;

SELECT format('generated %s applications (%s in flight) for tenant %s; now %s applications, %s feedback, %s requests in it',
              (SELECT count(*) FROM gen_rows), (SELECT count(*) FROM gen_rows WHERE inflight), :'tenant',
              (SELECT count(*) FROM applications WHERE tenant_id = c.tenant_id),
              (SELECT count(*) FROM feedback WHERE tenant_id = c.tenant_id),
              (SELECT count(*) FROM feedback_requests WHERE tenant_id = c.tenant_id)) AS result
FROM gen_ctx c;
COMMIT;
ANALYZE candidates; ANALYZE applications; ANALYZE feedback; ANALYZE feedback_requests; ANALYZE outbound; ANALYZE deliveries; ANALYZE people;
