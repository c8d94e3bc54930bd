-- The retention erasure of every due candidate as set-based SQL in one transaction: the same rows and columns
-- CandidateErasure changes (docs/privacy.md), without the audit events, the per-candidate locks and transactions.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE due ON COMMIT DROP AS
  SELECT c.id, c.tenant_id, c.email
  FROM candidates c
  JOIN tenants t ON t.id = c.tenant_id
  CROSS JOIN LATERAL (SELECT now() - make_interval(months => COALESCE((t.settings ->> 'retentionMonths')::int, 12)) AS cutoff) k
  WHERE c.erased_at IS NULL AND c.updated_at < k.cutoff
    AND NOT EXISTS (
      SELECT 1 FROM applications a
      WHERE a.candidate_id = c.id AND (
        a.legal_hold OR a.updated_at >= k.cutoff
        OR EXISTS (SELECT 1 FROM feedback f WHERE f.application_id = a.id AND f.updated_at >= k.cutoff)
        OR EXISTS (SELECT 1 FROM feedback_requests r WHERE r.application_id = a.id AND r.requested_at >= k.cutoff)
        OR EXISTS (SELECT 1 FROM feedback_request_links l WHERE l.application_id = a.id AND l.created_at >= k.cutoff)
        OR EXISTS (SELECT 1 FROM deliveries d JOIN outbound o ON o.id = d.id WHERE d.application_id = a.id AND o.updated_at >= k.cutoff)
        OR EXISTS (SELECT 1 FROM invitations i JOIN outbound o ON o.id = i.id WHERE i.application_id = a.id AND (o.created_at >= k.cutoff OR o.sent_at >= k.cutoff))));
CREATE TEMP TABLE due_apps ON COMMIT DROP AS SELECT a.id FROM applications a JOIN due ON a.candidate_id = due.id;
UPDATE feedback_requests SET note = NULL WHERE application_id IN (SELECT id FROM due_apps) AND note IS NOT NULL;
UPDATE feedback_request_links SET revoked_at = now() WHERE application_id IN (SELECT id FROM due_apps) AND revoked_at IS NULL;
CREATE TEMP TABLE due_outbound ON COMMIT DROP AS
  SELECT d.id FROM deliveries d JOIN due_apps ON d.application_id = due_apps.id
  UNION ALL SELECT i.id FROM invitations i JOIN due_apps ON i.application_id = due_apps.id;
UPDATE outbound_attempts SET reply = left(reply, 3) || ' (reply text erased with the candidate''s personal data)'
  WHERE reply IS NOT NULL AND outbound_id IN (SELECT id FROM due_outbound);
UPDATE outbound SET status = CASE WHEN status = 'Scheduled' THEN 'Cancelled' ELSE status END,
  last_reply = CASE WHEN last_reply IS NULL THEN NULL ELSE left(last_reply, 3) || ' (reply text erased with the candidate''s personal data)' END,
  updated_at = now()
  WHERE id IN (SELECT id FROM due_outbound);
UPDATE feedback SET answers = (SELECT jsonb_agg(jsonb_set(a, '{comment}', 'null')) FROM jsonb_array_elements(answers) a),
  findings = '[]', review_comment = NULL, version = version + 1, updated_at = now()
  WHERE application_id IN (SELECT id FROM due_apps);
DELETE FROM suppressed_addresses s USING due
  WHERE s.tenant_id = due.tenant_id AND s.address_hash = sha256(convert_to(lower(trim(due.email)), 'UTF8'));
UPDATE candidates SET first_name = '', last_name = NULL, email = '', locale = NULL, erased_at = now(), updated_at = now()
  WHERE id IN (SELECT id FROM due);
COMMIT;
