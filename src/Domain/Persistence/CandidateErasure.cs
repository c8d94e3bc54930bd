using System.Text.Json.Serialization;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace FeedbackHub.Domain.Persistence;

/// <summary>Why a candidate was erased (recorded in the audit event).</summary>
public enum ErasureReason
{
    /// <summary>Someone asked for it: <c>DELETE /v1/candidates/{id}</c>.</summary>
    Manual,
    /// <summary>The tenant's retention period after the last activity ran out.</summary>
    Retention,
}

/// <summary>How many things one erasure cleared, per kind (counts only, never values).</summary>
public sealed record ErasureCounts(
    int CandidateFields,
    int Applications,
    int RequestNotes,
    int LinksRevoked,
    int DeliveriesCancelled,
    int DeliveryReplies,
    int InvitationsCancelled,
    int InvitationReplies,
    int FeedbackTexts,
    int SuppressedAddresses,
    int IdempotencyRecords)
{
    public static ErasureCounts None { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>Anything at all was changed (applications are only counted, not changed).</summary>
    [JsonIgnore]
    public bool Any => this with { Applications = 0 } != None;
}

/// <summary>The outcome of an erasure. <see cref="ErasedAt"/> is the first erasure's time when <see cref="AlreadyErased"/>.</summary>
public sealed record ErasureResult(Guid CandidateId, DateTimeOffset ErasedAt, bool AlreadyErased, ErasureCounts Cleared);

/// <summary>What an erasure of several candidates of one tenant did (<see cref="CandidateErasure.EraseManyAsync"/>).</summary>
/// <param name="Erased">One result per candidate erased (or cleared again), in candidate-id order.</param>
/// <param name="Held">Candidates left untouched because applications of theirs are under legal hold, with how many.</param>
/// <param name="NotDue">Retention only: candidates no longer due once locked (active again, on hold, erased meanwhile).</param>
public sealed record ErasureBatch(IReadOnlyList<ErasureResult> Erased, IReadOnlyDictionary<Guid, int> Held, IReadOnlyList<Guid> NotDue);

/// <summary>
/// Erases candidates' personal data from every table (docs/privacy.md lists what and why): the one definition of what
/// erasure does, used for one candidate by the API's <c>DELETE /v1/candidates/{id}</c> and the web app, and for a batch
/// by the worker's retention sweep. A batch of one tenant's candidates is erased by a fixed number of set-based statements
/// in the caller's transaction (or one of its own), whatever its size, with one audit event per erased candidate and per
/// cancelled delivery or invitation, inserted by one statement.
/// </summary>
/// <remarks>
/// Locks, in this order: the candidates' rows (FOR UPDATE, in id order: no application can be added to them meanwhile),
/// each of their applications' locks in id order (<see cref="DeliveryScheduling.LockApplicationAsync"/>' lock: a
/// concurrent request, rejection, reopening, legal-hold change or a worker's claim or outcome of a delivery or invitation
/// finishes first or waits). Only then are legal holds (and, for retention, being due) read, by a statement of their own,
/// so a hold committed while the erasure waited for a lock is seen. When the call returns, nothing personal is left and
/// nothing is sent any more, except an email whose SMTP send a worker had already started (<c>Sending</c>): it may still
/// arrive, and its outcome is recorded without the reply text.
/// </remarks>
public static class CandidateErasure
{
    /// <summary>Erases the candidate; repeating it is harmless (it answers <c>AlreadyErased</c> and clears anything left).</summary>
    /// <exception cref="DomainException">404 when the candidate is not the tenant's; 409 <c>legal-hold</c> when one of its applications is on hold.</exception>
    public static async Task<ErasureResult> EraseAsync(
        FeedbackHubDbContext db, AuditLog audit, Guid tenantId, Guid candidateId, Actor actor, ErasureReason reason, DateTimeOffset now, CancellationToken ct)
    {
        var batch = await EraseManyAsync(db, audit, tenantId, [candidateId], actor, reason, now, ct);
        if (batch.Held.TryGetValue(candidateId, out var held))
        {
            throw DomainException.Conflict("legal-hold",
                $"{held} of the candidate's applications are under legal hold; a legal hold exempts them from erasure until it is released.");
        }

        return batch.Erased.SingleOrDefault() ?? throw DomainException.NotFound("The candidate");
    }

    /// <summary>
    /// Erases the tenant's candidates among <paramref name="candidateIds"/> (others' and unknown ids are ignored), except
    /// those with an application under legal hold (unless already erased: clearing again what is found is always allowed)
    /// and, for <see cref="ErasureReason.Retention"/>, those no longer due. All or nothing: the statements run in the
    /// caller's transaction, or in one of their own that commits when the call returns.
    /// </summary>
    public static async Task<ErasureBatch> EraseManyAsync(
        FeedbackHubDbContext db, AuditLog audit, Guid tenantId, IReadOnlyCollection<Guid> candidateIds, Actor actor, ErasureReason reason,
        DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(candidateIds);
        var own = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
        try
        {
            var result = await EraseInTransactionAsync(db, audit, tenantId, [.. candidateIds.Distinct()], actor, reason, now, ct);
            if (own is not null)
                await own.CommitAsync(ct);
            return result;
        }
        finally
        {
            if (own is not null)
                await own.DisposeAsync();
        }
    }

    private static async Task<ErasureBatch> EraseInTransactionAsync(
        FeedbackHubDbContext db, AuditLog audit, Guid tenantId, Guid[] ids, Actor actor, ErasureReason reason, DateTimeOffset now, CancellationToken ct)
    {
        var candidates = await db.Database.SqlQuery<CandidateRow>($"""
            SELECT id AS "Id", email AS "Email", first_name AS "FirstName", last_name AS "LastName", locale AS "Locale", erased_at AS "ErasedAt"
            FROM candidates WHERE tenant_id = {tenantId} AND id = ANY({ids}) ORDER BY id FOR UPDATE
            """).ToListAsync(ct);
        var found = candidates.Select(c => c.Id).ToArray();
        var applications = await db.Database.SqlQuery<ApplicationRow>($"""
            SELECT a.id AS "Id", a.candidate_id AS "CandidateId"
            FROM (SELECT id, candidate_id FROM applications WHERE tenant_id = {tenantId} AND candidate_id = ANY({found}) ORDER BY id) a
            CROSS JOIN LATERAL (SELECT pg_advisory_xact_lock(application_lock_key(a.id))) locked
            """).ToListAsync(ct);

        // Read under the locks: a hold placed (or activity recorded) while this waited for them is seen here.
        var held = new Dictionary<Guid, int>();
        var notDue = new List<Guid>();
        HashSet<Guid> erase;
        if (reason == ErasureReason.Retention)
        {
            erase = [.. (await DueForRetentionAsync(db, now, found.Length, ct, among: found)).Select(d => d.CandidateId)];
            notDue.AddRange(found.Where(id => !erase.Contains(id)));
        }
        else
        {
            var applicationIds = applications.Select(a => a.Id).ToArray();
            var holds = await db.Database.SqlQuery<HeldRow>($"""
                SELECT candidate_id AS "CandidateId", count(*)::int AS "Applications" FROM applications
                WHERE id = ANY({applicationIds}) AND legal_hold GROUP BY candidate_id
                """).ToListAsync(ct);
            foreach (var hold in holds.Where(h => candidates.Single(c => c.Id == h.CandidateId).ErasedAt is null))
                held[hold.CandidateId] = hold.Applications;
            erase = [.. found.Where(id => !held.ContainsKey(id))];
        }

        var targets = candidates.Where(c => erase.Contains(c.Id)).ToList();
        if (targets.Count == 0)
            return new ErasureBatch([], held, notDue);
        var items = await CancelAndEraseRepliesAsync(db, tenantId, [.. applications.Where(a => erase.Contains(a.CandidateId)).Select(a => a.Id)], now, ct);
        var counts = await ClearAsync(db, tenantId, targets, applications, now, ct);

        var candidateOf = applications.ToDictionary(a => a.Id, a => a.CandidateId);
        var itemsOf = items.ToLookup(i => candidateOf[i.ApplicationId]);
        var events = new List<AuditEntry>();
        var results = new List<ErasureResult>();
        var erasedAt = Times.Truncate(now);
        foreach (var candidate in targets)
        {
            var mine = itemsOf[candidate.Id].ToList();
            var c = counts[candidate.Id];
            var alreadyErased = candidate.ErasedAt is not null;
            var cleared = new ErasureCounts(
                alreadyErased ? 0 : 2 + (candidate.LastName is null ? 0 : 1) + (candidate.Locale is null ? 0 : 1),
                c.Applications, c.RequestNotes, c.LinksRevoked,
                mine.Count(i => i.IsDelivery && i.Cancelled), mine.Where(i => i.IsDelivery).Sum(i => i.Replies),
                mine.Count(i => !i.IsDelivery && i.Cancelled), mine.Where(i => !i.IsDelivery).Sum(i => i.Replies),
                c.FeedbackTexts, c.SuppressedAddresses, c.IdempotencyRecords);
            foreach (var item in mine.Where(i => i.Cancelled))
            {
                events.Add(item.IsDelivery
                    ? new AuditEntry(AuditActions.DeliveryCancelled, "delivery", item.Id, new { reason = "candidate-erased" })
                    : new AuditEntry(AuditActions.InvitationCancelled, "invitation", item.Id, new { reason = "candidate-erased" }));
            }

            if (!alreadyErased || cleared.Any)
            {
                events.Add(new AuditEntry("candidate.erased", "candidate", candidate.Id,
                    new { reason = reason == ErasureReason.Manual ? "manual" : "retention", again = alreadyErased, cleared }));
            }

            results.Add(new ErasureResult(candidate.Id, candidate.ErasedAt ?? erasedAt, alreadyErased, cleared));
        }

        await audit.InsertAsync(tenantId, actor, events, ct);
        await WebhookRaising.RaiseCancelledAsync(db, tenantId,
            [.. items.Where(i => i.IsDelivery && i.Cancelled).Select(i => new CancelledDelivery(i.Id, i.ApplicationId, i.RequestId!.Value, i.FeedbackId!.Value))], now, ct);
        await db.SaveChangesAsync(ct); // the webhook events, when the tenant subscribes to delivery.cancelled
        return new ErasureBatch(results, held, notDue);
    }

    /// <summary>
    /// The applications' deliveries and invitations: a Scheduled one is cancelled (its lease cleared), and every stored
    /// SMTP reply (the item's last reply and each attempt's) is reduced to its code, as <see cref="OutboundItem.ErasedReply"/>
    /// reduces a reply recorded after the erasure. One statement; one row per item, deliveries first.
    /// </summary>
    private static Task<List<OutboundRow>> CancelAndEraseRepliesAsync(FeedbackHubDbContext db, Guid tenantId, Guid[] applicationIds, DateTimeOffset now, CancellationToken ct) =>
        db.Database.SqlQueryRaw<OutboundRow>(CancelAndEraseRepliesSql,
            Uuid("tenant", tenantId), Uuids("applications", applicationIds), Text("scheduled", nameof(OutboundStatus.Scheduled)),
            Text("cancelled", nameof(OutboundStatus.Cancelled)), Text("erased_reply", OutboundItem.ErasedReplyText), Time("now", now)).ToListAsync(ct);

    private static readonly string CancelAndEraseRepliesSql = $"""
            WITH items AS (
              SELECT o.id, o.status, o.last_reply, d.application_id, true AS is_delivery, d.request_id, d.feedback_id
              FROM deliveries d JOIN outbound o ON o.id = d.id WHERE o.tenant_id = @tenant AND d.application_id = ANY(@applications)
              UNION ALL
              SELECT o.id, o.status, o.last_reply, i.application_id, false, NULL, NULL
              FROM invitations i JOIN outbound o ON o.id = i.id WHERE o.tenant_id = @tenant AND i.application_id = ANY(@applications)),
            replies AS (
              UPDATE outbound_attempts t SET reply = {ErasedReplySql("t.reply")}
              FROM items WHERE t.outbound_id = items.id AND t.reply IS NOT NULL AND t.reply <> {ErasedReplySql("t.reply")}
              RETURNING t.outbound_id),
            changed AS (
              UPDATE outbound o SET
                status = CASE WHEN items.status = @scheduled THEN @cancelled ELSE o.status END,
                lease_until = CASE WHEN items.status = @scheduled THEN NULL ELSE o.lease_until END,
                last_reply = CASE WHEN o.last_reply IS NULL THEN NULL ELSE {ErasedReplySql("o.last_reply")} END,
                updated_at = @now
              FROM items
              WHERE o.id = items.id AND (items.status = @scheduled OR o.last_reply <> {ErasedReplySql("o.last_reply")}
                                         OR o.id IN (SELECT outbound_id FROM replies))
              RETURNING o.id)
            SELECT items.id AS "Id", items.application_id AS "ApplicationId", items.is_delivery AS "IsDelivery",
                   items.request_id AS "RequestId", items.feedback_id AS "FeedbackId", items.status = @scheduled AS "Cancelled",
                   ((items.last_reply IS NOT NULL AND items.last_reply <> {ErasedReplySql("items.last_reply")})::int + coalesce(r.n, 0))::int AS "Replies"
            FROM items LEFT JOIN (SELECT outbound_id, count(*) AS n FROM replies GROUP BY outbound_id) r ON r.outbound_id = items.id
            ORDER BY items.is_delivery DESC, items.id
            """;

    /// <summary><see cref="OutboundItem.ErasedReply"/> in SQL: the three-digit code, if the reply starts with one, and the fixed text.</summary>
    internal static string ErasedReplySql(string reply) =>
        $"(CASE WHEN {reply} ~ '^[0-9][0-9][0-9]' THEN left({reply}, 3) || ' ' || @erased_reply ELSE @erased_reply END)";

    /// <summary>
    /// Everything else, in one statement: requests' notes, links (revoked), feedback free text (answer comments, findings,
    /// acknowledgement reasons, review comment, and the comments kept with the last request for changes; the version
    /// moves), the suppression entries of the addresses, stored idempotent answers that mention the person or their
    /// records, and the candidate rows themselves. Counts per candidate.
    /// </summary>
    private static async Task<Dictionary<Guid, ClearedRow>> ClearAsync(
        FeedbackHubDbContext db, Guid tenantId, List<CandidateRow> targets, List<ApplicationRow> applications, DateTimeOffset now, CancellationToken ct)
    {
        var ids = targets.Select(c => c.Id).ToArray();
        var fresh = targets.Where(c => c.ErasedAt is null).ToList();

        // An unsalted hash of an address can be reversed by guessing: the suppression entry goes with the person.
        var addresses = fresh.Where(c => c.Email.Length > 0).Select(c => (c.Id, Hash: SuppressedAddress.Hash(c.Email))).ToList();

        // The values that identify the person in a stored answer, read before they are cleared.
        var terms = new List<(Guid Candidate, string Term)>();
        foreach (var c in targets)
        {
            var own = new List<string> { c.Id.ToString() };
            own.AddRange(applications.Where(a => a.CandidateId == c.Id).Select(a => a.Id.ToString()));
            if (c.ErasedAt is null)
            {
                own.Add(c.Email);
                own.AddRange(new[] { c.FirstName, c.LastName }.OfType<string>().Where(n => n.Length >= 3));
            }

            terms.AddRange(own.Where(t => t.Length > 0).Select(t => t.ToLowerInvariant()).Distinct().Select(t => (c.Id, t)));
        }

        var rows = await db.Database.SqlQueryRaw<ClearedRow>("""
            WITH apps AS (
              SELECT a.id, a.candidate_id FROM applications a WHERE a.tenant_id = @tenant AND a.candidate_id = ANY(@candidates)),
            notes AS (
              UPDATE feedback_requests r SET note = NULL FROM apps
              WHERE r.tenant_id = @tenant AND r.application_id = apps.id AND r.note IS NOT NULL RETURNING apps.candidate_id),
            links AS (
              UPDATE feedback_request_links l SET revoked_at = @now FROM apps
              WHERE l.tenant_id = @tenant AND l.application_id = apps.id AND l.revoked_at IS NULL RETURNING apps.candidate_id),
            texts AS (
              UPDATE feedback f SET
                answers = (SELECT coalesce(jsonb_agg(a || jsonb_build_object('comment', NULL) ORDER BY n), '[]') FROM jsonb_array_elements(f.answers) WITH ORDINALITY x(a, n)),
                findings = '[]',
                acknowledgements = (SELECT coalesce(jsonb_agg(k || jsonb_build_object('reason', @erased_text) ORDER BY n), '[]')
                                    FROM jsonb_array_elements(f.acknowledgements) WITH ORDINALITY x(k, n)),
                review_comment = NULL,
                last_change_request = CASE WHEN jsonb_typeof(f.last_change_request) = 'object' THEN f.last_change_request || jsonb_build_object(
                    'answers', (SELECT coalesce(jsonb_agg(a || jsonb_build_object('comment', NULL) ORDER BY n), '[]')
                                FROM jsonb_array_elements(coalesce(f.last_change_request -> 'answers', '[]')) WITH ORDINALITY x(a, n)),
                    'comment', @erased_text) ELSE f.last_change_request END,
                updated_at = @now,
                version = f.version + 1
              FROM (
                SELECT f0.id, apps.candidate_id,
                  (SELECT count(*) FROM jsonb_array_elements(f0.answers) a WHERE a ->> 'comment' IS NOT NULL)
                  + jsonb_array_length(f0.findings)
                  + (SELECT count(*) FROM jsonb_array_elements(f0.acknowledgements) k WHERE k ->> 'reason' IS DISTINCT FROM @erased_text)
                  + (f0.review_comment IS NOT NULL)::int
                  + CASE WHEN jsonb_typeof(f0.last_change_request) = 'object' THEN
                      (SELECT count(*) FROM jsonb_array_elements(coalesce(f0.last_change_request -> 'answers', '[]')) a WHERE a ->> 'comment' IS NOT NULL)
                      + (f0.last_change_request ->> 'comment' IS DISTINCT FROM @erased_text)::int
                    ELSE 0 END AS erased
                FROM feedback f0 JOIN apps ON apps.id = f0.application_id WHERE f0.tenant_id = @tenant) old
              WHERE f.id = old.id
              RETURNING old.candidate_id, old.erased),
            suppressed AS (
              DELETE FROM suppressed_addresses s USING unnest(@hash_candidates, @hashes) AS h(candidate_id, hash)
              WHERE s.tenant_id = @tenant AND s.address_hash = h.hash RETURNING h.candidate_id),
            terms AS (
              SELECT * FROM unnest(@term_candidates, @terms) WITH ORDINALITY AS t(candidate_id, term, n)),
            idempotency AS (
              DELETE FROM idempotency_records r
              WHERE r.tenant_id = @tenant AND r.response_body IS NOT NULL AND EXISTS (SELECT 1 FROM terms WHERE strpos(lower(r.response_body), terms.term) > 0)
              RETURNING (SELECT t.candidate_id FROM terms t WHERE strpos(lower(r.response_body), t.term) > 0 ORDER BY t.n LIMIT 1) AS candidate_id),
            erased AS (
              UPDATE candidates c SET first_name = '', last_name = NULL, email = '', locale = NULL, erased_at = @erased_at, updated_at = @erased_at
              WHERE c.tenant_id = @tenant AND c.id = ANY(@candidates) AND c.erased_at IS NULL RETURNING c.id)
            SELECT e.id AS "CandidateId", coalesce(a.n, 0)::int AS "Applications", coalesce(r.n, 0)::int AS "RequestNotes",
              coalesce(l.n, 0)::int AS "LinksRevoked", coalesce(f.n, 0)::int AS "FeedbackTexts", coalesce(s.n, 0)::int AS "SuppressedAddresses",
              coalesce(i.n, 0)::int AS "IdempotencyRecords"
            FROM unnest(@candidates) AS e(id)
            LEFT JOIN (SELECT candidate_id, count(*) AS n FROM apps GROUP BY candidate_id) a ON a.candidate_id = e.id
            LEFT JOIN (SELECT candidate_id, count(*) AS n FROM notes GROUP BY candidate_id) r ON r.candidate_id = e.id
            LEFT JOIN (SELECT candidate_id, count(*) AS n FROM links GROUP BY candidate_id) l ON l.candidate_id = e.id
            LEFT JOIN (SELECT candidate_id, sum(erased) AS n FROM texts GROUP BY candidate_id) f ON f.candidate_id = e.id
            LEFT JOIN (SELECT candidate_id, count(*) AS n FROM suppressed GROUP BY candidate_id) s ON s.candidate_id = e.id
            LEFT JOIN (SELECT candidate_id, count(*) AS n FROM idempotency GROUP BY candidate_id) i ON i.candidate_id = e.id
            """,
            Uuid("tenant", tenantId), Uuids("candidates", ids), Time("now", now), Time("erased_at", Times.Truncate(now)),
            Text("erased_text", Feedback.ErasedText),
            Uuids("hash_candidates", [.. addresses.Select(a => a.Id)]),
            new NpgsqlParameter("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = addresses.Select(a => a.Hash).ToArray() },
            Uuids("term_candidates", [.. terms.Select(t => t.Candidate)]),
            new NpgsqlParameter("terms", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = terms.Select(t => t.Term).ToArray() }).ToListAsync(ct);
        return rows.ToDictionary(r => r.CandidateId);
    }

    private static NpgsqlParameter Uuid(string name, Guid value) => new(name, NpgsqlDbType.Uuid) { Value = value };

    private static NpgsqlParameter Uuids(string name, Guid[] value) => new(name, NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = value };

    private static NpgsqlParameter Text(string name, string value) => new(name, NpgsqlDbType.Text) { Value = value };

    private static NpgsqlParameter Time(string name, DateTimeOffset value) => new(name, NpgsqlDbType.TimestampTz) { Value = value };

    private sealed record CandidateRow(Guid Id, string Email, string FirstName, string? LastName, string? Locale, DateTimeOffset? ErasedAt);

    private sealed record ApplicationRow(Guid Id, Guid CandidateId);

    private sealed record HeldRow(Guid CandidateId, int Applications);

    private sealed record OutboundRow(Guid Id, Guid ApplicationId, bool IsDelivery, Guid? RequestId, Guid? FeedbackId, bool Cancelled, int Replies);

    private sealed record ClearedRow(
        Guid CandidateId, int Applications, int RequestNotes, int LinksRevoked, int FeedbackTexts, int SuppressedAddresses, int IdempotencyRecords);

    /// <summary>
    /// Candidates due for erasure by retention: not erased, no application under legal hold, and no activity for the
    /// tenant's <see cref="TenantSettings.RetentionMonths"/>. The last activity is the latest of the candidate's
    /// <c>updated_at</c> and, for each of its applications, the application's <c>updated_at</c>, the feedback's
    /// <c>updated_at</c>, the request's <c>requested_at</c>, the request links' <c>created_at</c>, the delivery's
    /// <c>updated_at</c> (which moves with every attempt) and the invitations' <c>created_at</c> and <c>sent_at</c>.
    /// At most <paramref name="limit"/>, in no particular order (an order would make every batch evaluate every due
    /// candidate before it could stop); rows already locked (by another batch or worker erasing them) are skipped. Inside a transaction the rows stay locked until it ends. With <paramref name="among"/>, only those candidates.
    /// </summary>
    public static Task<List<DueCandidate>> DueForRetentionAsync(
        FeedbackHubDbContext db, DateTimeOffset now, int limit, CancellationToken ct, IReadOnlyCollection<Guid>? among = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        var all = among is null;
        var ids = among?.ToArray() ?? [];
        return db.Database.SqlQuery<DueCandidate>($"""
            SELECT c.id AS "CandidateId", c.tenant_id AS "TenantId"
            FROM candidates c
            JOIN tenants t ON t.id = c.tenant_id
            CROSS JOIN LATERAL (SELECT {now} - make_interval(months => COALESCE((t.settings ->> 'retentionMonths')::int, 12)) AS cutoff) k
            WHERE c.erased_at IS NULL
              AND ({all} OR c.id = ANY({ids}))
              AND c.updated_at < {now} - interval '1 month' -- the shortest retention: lets the index on updated_at narrow the scan
              AND c.updated_at < k.cutoff
              AND NOT EXISTS (
                SELECT 1 FROM applications a
                WHERE a.candidate_id = c.id AND (
                  a.legal_hold OR a.updated_at >= k.cutoff
                  OR EXISTS (SELECT 1 FROM feedback f WHERE f.application_id = a.id AND f.updated_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM feedback_requests r WHERE r.application_id = a.id AND r.requested_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM feedback_request_links l WHERE l.application_id = a.id AND l.created_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM deliveries d JOIN outbound o ON o.id = d.id WHERE d.application_id = a.id AND o.updated_at >= k.cutoff)
                  OR EXISTS (SELECT 1 FROM invitations i JOIN outbound o ON o.id = i.id WHERE i.application_id = a.id AND (o.created_at >= k.cutoff OR o.sent_at >= k.cutoff))))
            LIMIT {limit}
            FOR UPDATE OF c SKIP LOCKED
            """).ToListAsync(ct);
    }
}

/// <summary>A candidate the retention sweep will erase.</summary>
public sealed record DueCandidate(Guid CandidateId, Guid TenantId);
