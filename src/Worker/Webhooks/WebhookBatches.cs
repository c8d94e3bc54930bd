using System.Buffers.Binary;
using System.Security.Cryptography;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace FeedbackHub.Worker.Webhooks;

/// <summary>A webhook delivery this worker claimed for one attempt, with what the attempt sends.</summary>
/// <param name="Failures">Failed attempts already counted against the budget (for the backoff after this one).</param>
public sealed record ClaimedWebhook(
    Guid Id, Guid TenantId, Guid SubscriptionId, Guid EventId, string EventType, string Body, int Attempt, int Failures)
{
    /// <summary>Where the attempt goes (set by the dispatcher once the claim's subscriptions are read; null when not sendable).</summary>
    public WebhookTarget? Target { get; init; }
}

/// <summary>Where a subscription's requests go and what signs them; or, when it cannot be sent to, the answer that fails its deliveries.</summary>
public sealed record WebhookTarget(Uri? Url, IReadOnlyList<string> Secrets, bool AllowPrivate, AttemptAnswer? NotSendable);

/// <summary>What one claimed attempt came to: the receiver's answer, an answer without a request (not sendable), or not sent at all (stopped).</summary>
public sealed record WebhookResult(ClaimedWebhook Claim, AttemptAnswer Answer, bool NotSendable = false);

/// <summary>A recorded result as it now stands in the database.</summary>
public sealed record RecordedWebhook(WebhookResult Result, OutboundStatus Status, DateTimeOffset DueAt, bool PossibleDuplicate);

/// <summary>
/// The dispatcher's statements: claim a batch of due deliveries, and record a batch of results, each in one transaction
/// of a few set-based statements (docs/decisions/0015-batched-webhook-dispatch.md). Deliveries are locked by their
/// <c>outbound</c> row, as every other writer of a webhook delivery locks them (<see cref="OutboundLocks"/>), and the
/// state changes are those of <see cref="OutboundItem"/> (<see cref="Next"/>; the same rules, tested on the same cases).
/// </summary>
public static class WebhookBatches
{
    /// <summary>The key <see cref="Domain.Model.TenantSettings.AllowPrivateWebhookTargets"/> is stored under in the settings column (JSON, web defaults: camelCase).</summary>
    private static readonly string AllowPrivateKey = System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(nameof(Domain.Model.TenantSettings.AllowPrivateWebhookTargets));

    /// <summary>
    /// Claims up to <paramref name="take"/> due deliveries (oldest due first, rows another transaction holds skipped):
    /// each becomes Sending with a lease and a new attempt in progress, committed before anything is sent. Also returns
    /// the targets of their subscriptions, secrets opened once per subscription. One statement (pick, mark, insert the
    /// attempts, return what they send with each subscription's row once; planned by <see cref="QueueClaims.PickJoiningByKey"/>) in a
    /// transaction of its own: two round trips, the statement (with the BEGIN) and the commit.
    /// </summary>
    public static async Task<(IReadOnlyList<ClaimedWebhook> Claimed, IReadOnlyDictionary<Guid, WebhookTarget> Targets)> ClaimAsync(
        FeedbackHubDbContext db, WebhookSecretBox secrets, int take, DateTimeOffset now, TimeSpan lease, CancellationToken ct)
    {
        var attemptIds = Version7Ids(take, now);
        var claimed = new List<ClaimedWebhook>();
        var targets = new Dictionary<Guid, WebhookTarget>();
        ct.ThrowIfCancellationRequested();
        await db.Database.OpenConnectionAsync(CancellationToken.None);
        try
        {
            // An explicit transaction, as QueueClaims.PickJoiningByKey needs (Npgsql sends its BEGIN with the statement). Not
            // cancellable: a claim cancelled as it commits may still have committed, and a claim nobody knows about
            // waits for its lease. Nothing is sent before the commit.
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
            // The subscription's columns come with its first delivery only (nth = 1); the tenant's setting by its stored key.
            await using var claim = new NpgsqlCommand(QueueClaims.PickJoiningByKey(
                $"""
                WITH c AS ({QueueClaims.DueWebhooks}),
                n AS (SELECT c.id, c.tenant_id, coalesce(a.last, 0) + 1 AS number, coalesce(a.failures, 0)::int AS failures,
                             (row_number() OVER (ORDER BY c.due_at, c.id))::int AS k
                      FROM c LEFT JOIN LATERAL (
                          SELECT max(number) AS last, count(*) FILTER (WHERE outcome = 'TransientFailure' AND counts_against_budget) AS failures
                          FROM outbound_attempts WHERE outbound_id = c.id) a ON true),
                u AS (UPDATE outbound o SET status = 'Sending', lease_until = @until, updated_at = @now FROM n WHERE o.id = n.id),
                i AS (INSERT INTO outbound_attempts (id, outbound_id, tenant_id, number, started_at, outcome, counts_against_budget)
                      SELECT (@attempt_ids)[n.k], n.id, n.tenant_id, n.number, @now, 'InProgress', true FROM n),
                r AS (SELECT n.*, d.subscription_id, d.event_id, d.event_type, row_number() OVER (PARTITION BY d.subscription_id ORDER BY n.k) AS nth
                      FROM n JOIN webhook_deliveries d ON d.id = n.id)
                SELECT r.id, r.tenant_id, r.subscription_id, r.event_id, r.event_type, e.body, r.number, r.failures,
                       s.id IS NOT NULL, s.url, s.enabled, s.sealed_secret, s.previous_sealed_secret, s.previous_secret_expires_at,
                       coalesce((t.settings ->> @allow_private)::boolean, false)
                FROM r JOIN webhook_events e ON e.id = r.event_id
                LEFT JOIN webhook_subscriptions s ON r.nth = 1 AND s.id = r.subscription_id
                LEFT JOIN tenants t ON t.id = s.tenant_id
                ORDER BY r.k
                """), connection, transaction);
            claim.Parameters.AddWithValue("now", now);
            claim.Parameters.AddWithValue("take", take);
            claim.Parameters.AddWithValue("until", now + lease);
            claim.Parameters.AddWithValue("attempt_ids", attemptIds);
            claim.Parameters.AddWithValue("allow_private", AllowPrivateKey);
            await using (var reader = await claim.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    var subscriptionId = reader.GetGuid(2);
                    claimed.Add(new ClaimedWebhook(
                        reader.GetGuid(0), reader.GetGuid(1), subscriptionId, reader.GetGuid(3), reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7)));
                    if (reader.GetBoolean(8))
                    {
                        targets[subscriptionId] = Target(
                            subscriptionId, reader.GetString(9), reader.GetBoolean(10), reader.GetFieldValue<byte[]>(11),
                            reader.IsDBNull(12) ? null : reader.GetFieldValue<byte[]>(12),
                            reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13), reader.GetBoolean(14), secrets, now);
                    }
                }
            }

            await transaction.CommitAsync(CancellationToken.None);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        return (claimed, targets);
    }

    /// <summary>
    /// Records a batch of results in one round trip (three statements in PostgreSQL's implicit transaction of a batch): locks
    /// their rows (in id order, as recovery and the API take them), then one statement finishes every attempt still in
    /// progress, moves its delivery on (<see cref="Next"/>) and inserts the audit events of the final outcomes among the
    /// rows it changed. An attempt no longer in progress (recovery took it over after its lease ran out; or a retried
    /// record that had committed) is left as it is and gets no audit event. Returns what was recorded.
    /// </summary>
    /// <remarks>
    /// Planned for a queue whose statistics saw nothing in flight (as after most of autovacuum's analyses): an attempt in
    /// progress and a delivery being sent then look as rare as they are in the table's history, and the planner, expecting
    /// one row, looped over the batch once per row it found (batch size squared; 2-6 ms a batch of 60 with 10,000 sent
    /// before, WebhookRecordTests). So the statement finds its rows by key (<c>= ANY(@ids)</c> on the primary key and on
    /// the attempts' <c>(outbound_id, number)</c> index) and joins them by hash: <c>enable_nestloop</c> is off for the
    /// batch's transaction only (<c>set_config(..., true)</c>, which, unlike <c>SET LOCAL</c>, needs no explicit
    /// transaction and so no extra round trip for its commit).
    /// </remarks>
    public static async Task<IReadOnlyList<RecordedWebhook>> RecordAsync(
        FeedbackHubDbContext db, AuditLog audit, IReadOnlyList<WebhookResult> results, RetryPolicy policy, DateTimeOffset now, CancellationToken ct)
    {
        var count = results.Count;
        var ids = new Guid[count];
        var numbers = new int[count];
        var outcomes = new string[count];
        var codes = new int?[count];
        var replies = new string?[count];
        var details = new string?[count];
        var durations = new int?[count];
        var excerpts = new string?[count];
        var counts = new bool[count];
        var statuses = new string[count];
        var due = new DateTimeOffset[count];
        var duplicates = new bool[count];
        var keepReply = new bool[count];
        var byId = new Dictionary<Guid, int>(count);
        var audited = new List<(Guid TenantId, AuditEntry Entry)>();
        var auditedAt = new int[count]; // index of the row's first prepared event (+1), 0 for none
        for (var i = 0; i < count; i++)
        {
            var (claim, answer) = (results[i].Claim, results[i].Answer);
            var next = Next(answer, claim.Failures, policy, now);
            ids[i] = claim.Id;
            numbers[i] = claim.Attempt;
            outcomes[i] = answer.Outcome.ToString();
            codes[i] = answer.Code;
            replies[i] = Cut(answer.Reply, 1000);
            details[i] = Cut(answer.Detail, OutboundAttempt.MaxDetailLength);
            durations[i] = answer.DurationMs;
            excerpts[i] = string.IsNullOrEmpty(answer.ResponseExcerpt) ? null : Cut(answer.ResponseExcerpt, OutboundAttempt.MaxExcerptLength);
            counts[i] = next.CountsAgainstBudget;
            statuses[i] = next.Status.ToString();
            due[i] = next.DueAt;
            duplicates[i] = answer.MayHaveBeenAccepted && answer.Outcome != AttemptOutcome.Accepted;
            keepReply[i] = answer.Outcome == AttemptOutcome.NotSent;
            byId[claim.Id] = i;
            if (next.Status is OutboundStatus.Sent or OutboundStatus.Failed)
            {
                // Whether the delivery is flagged a possible duplicate is known only once its row is updated: one event for each case.
                auditedAt[i] = audited.Count + 1;
                audited.Add((claim.TenantId, AuditOf(results[i], next.Status, possibleDuplicate: false)));
                audited.Add((claim.TenantId, AuditOf(results[i], next.Status, possibleDuplicate: true)));
            }
        }

        var events = audit.Prepare(Actor.System, audited);
        var auditIds = new Guid?[count];
        var auditIdsIfDuplicate = new Guid?[count];
        var auditData = new string?[count];
        var auditDataIfDuplicate = new string?[count];
        var auditActions = new string?[count];
        var tenants = new Guid[count];
        var subscriptions = new Guid[count];
        for (var i = 0; i < count; i++)
        {
            tenants[i] = results[i].Claim.TenantId;
            subscriptions[i] = results[i].Claim.SubscriptionId;
            if (auditedAt[i] == 0)
                continue;
            var (plain, flagged) = (events[auditedAt[i] - 1], events[auditedAt[i]]);
            (auditIds[i], auditIdsIfDuplicate[i], auditData[i], auditDataIfDuplicate[i], auditActions[i]) = (plain.Id, flagged.Id, plain.Data, flagged.Data, plain.Action);
        }

        var recorded = new List<RecordedWebhook>(count);
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            // No explicit transaction: the batch's statements run in one implicit transaction, committed at its end (or rolled back whole).
            await using var batch = new NpgsqlBatch((NpgsqlConnection)db.Database.GetDbConnection());
            var lockRows = new NpgsqlBatchCommand("SELECT id FROM outbound WHERE id = ANY(@ids) ORDER BY id FOR UPDATE");
            lockRows.Parameters.AddWithValue("ids", ids);
            var update = new NpgsqlBatchCommand(
                """
                WITH h AS (SELECT * FROM unnest(@ids, @numbers, @outcomes, @codes, @replies, @details, @durations, @excerpts, @counts, @statuses, @due, @duplicates, @keep_reply,
                                                @tenants, @subscriptions, @audit_ids, @audit_ids_dup, @audit_data, @audit_data_dup, @audit_actions) WITH ORDINALITY
                           AS h(id, number, outcome, code, reply, detail, duration_ms, excerpt, counts, status, due_at, duplicate, keep_reply,
                                tenant_id, subscription_id, audit_id, audit_id_dup, audit_data, audit_data_dup, audit_action, n)),
                a AS (UPDATE outbound_attempts a
                      SET outcome = h.outcome, code = h.code, reply = h.reply, detail = h.detail, duration_ms = h.duration_ms,
                          response_excerpt = h.excerpt, counts_against_budget = h.counts, finished_at = @now
                      FROM h WHERE a.outbound_id = ANY(@ids) AND a.outbound_id = h.id AND a.number = h.number AND a.outcome = 'InProgress'
                      RETURNING a.outbound_id),
                o AS (UPDATE outbound o
                      SET status = h.status, due_at = h.due_at, possible_duplicate = o.possible_duplicate OR h.duplicate,
                          last_reply = CASE WHEN h.keep_reply THEN o.last_reply ELSE h.reply END,
                          sent_at = CASE WHEN h.status = 'Sent' THEN @now ELSE o.sent_at END, lease_until = NULL, updated_at = @now
                      FROM h WHERE o.id = ANY(@ids) AND o.id = h.id AND o.status = 'Sending' AND o.id IN (SELECT outbound_id FROM a)
                      RETURNING o.id, o.status, o.due_at, o.possible_duplicate),
                e AS (INSERT INTO audit_events (id, tenant_id, occurred_at, actor_id, actor_name, action, subject_type, subject_id, data)
                      SELECT CASE WHEN o.possible_duplicate THEN h.audit_id_dup ELSE h.audit_id END, h.tenant_id, @occurred_at, NULL, @actor_name,
                             h.audit_action, 'webhook', h.subscription_id, CASE WHEN o.possible_duplicate THEN h.audit_data_dup ELSE h.audit_data END
                      FROM o JOIN h ON h.id = o.id WHERE h.audit_action IS NOT NULL
                      ORDER BY h.n)
                SELECT id, status, due_at, possible_duplicate FROM o
                """);
            var p = update.Parameters;
            p.AddWithValue("ids", ids);
            p.AddWithValue("numbers", numbers);
            p.AddWithValue("outcomes", outcomes);
            p.AddWithValue("codes", codes);
            p.AddWithValue("replies", replies);
            p.AddWithValue("details", details);
            p.AddWithValue("durations", durations);
            p.AddWithValue("excerpts", excerpts);
            p.AddWithValue("counts", counts);
            p.AddWithValue("statuses", statuses);
            p.AddWithValue("due", due);
            p.AddWithValue("duplicates", duplicates);
            p.AddWithValue("keep_reply", keepReply);
            p.AddWithValue("tenants", tenants);
            p.AddWithValue("subscriptions", subscriptions);
            p.AddWithValue("audit_ids", auditIds);
            p.AddWithValue("audit_ids_dup", auditIdsIfDuplicate);
            p.AddWithValue("audit_data", NpgsqlDbType.Array | NpgsqlDbType.Text, auditData);
            p.AddWithValue("audit_data_dup", NpgsqlDbType.Array | NpgsqlDbType.Text, auditDataIfDuplicate);
            p.AddWithValue("audit_actions", NpgsqlDbType.Array | NpgsqlDbType.Varchar, auditActions);
            p.AddWithValue("occurred_at", events.Count > 0 ? events[0].OccurredAt : now);
            p.AddWithValue("actor_name", Actor.System.Name);
            p.AddWithValue("now", now);
            batch.BatchCommands.Add(lockRows);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(PlannerMethods.OffForTransaction(PlannerMethods.NestLoop)));
            batch.BatchCommands.Add(update);
            await using var reader = await batch.ExecuteReaderAsync(ct);
            await reader.NextResultAsync(ct); // past the locked ids
            await reader.NextResultAsync(ct); // past the planner setting
            while (await reader.ReadAsync(ct))
            {
                var result = results[byId[reader.GetGuid(0)]];
                recorded.Add(new RecordedWebhook(result, Enum.Parse<OutboundStatus>(reader.GetString(1)), reader.GetFieldValue<DateTimeOffset>(2), reader.GetBoolean(3)));
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        return recorded;
    }

    /// <summary>
    /// Where an answer moves a delivery, as <see cref="OutboundItem.RecordAnswer"/> and <see cref="OutboundItem.ReleaseUnsent"/>
    /// do: accepted, Sent; refused, Failed; a failure, due again after the growing backoff, or Failed once the budget is
    /// spent; not sent, due again at once and not counted.
    /// </summary>
    public static (OutboundStatus Status, DateTimeOffset DueAt, bool CountsAgainstBudget) Next(AttemptAnswer answer, int failuresBefore, RetryPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(policy);
        switch (answer.Outcome)
        {
            case AttemptOutcome.Accepted:
                return (OutboundStatus.Sent, now, true);
            case AttemptOutcome.PermanentFailure:
                return (OutboundStatus.Failed, now, true);
            case AttemptOutcome.TransientFailure:
                var failures = failuresBefore + 1;
                return failures >= policy.MaxAttempts ? (OutboundStatus.Failed, now, true) : (OutboundStatus.Scheduled, now + policy.Backoff(failures), true);
            case AttemptOutcome.NotSent:
                return (OutboundStatus.Scheduled, now, false);
            default:
                throw new ArgumentException($"A webhook answer cannot be {answer.Outcome}.", nameof(answer));
        }
    }

    /// <summary>The answer recorded for an attempt claimed but never started (the worker is stopping).</summary>
    public static AttemptAnswer NotSent => Outbound.DispatchAnswers.NotSent;

    private static WebhookTarget Target(
        Guid id, string url, bool enabled, byte[] sealedSecret, byte[]? previousSealedSecret, DateTimeOffset? previousSecretExpiresAt, bool allowPrivate,
        WebhookSecretBox secrets, DateTimeOffset now)
    {
        if (!enabled)
            return NotSendable(WebhookAttemptOutcomes.SubscriptionDisabled, "The subscription is disabled; nothing was sent.");
        try
        {
            return new WebhookTarget(
                new Uri(url), WebhookSubscription.SigningSecrets(secrets, id, sealedSecret, previousSealedSecret, previousSecretExpiresAt, now), allowPrivate, null);
        }
        catch (CryptographicException)
        {
            return NotSendable(WebhookAttemptOutcomes.SecretUnreadable,
                "The subscription's secret opens with neither this worker's Webhooks:SecretKey nor its Webhooks:PreviousSecretKeys (was the key changed?); rotate the secret, then redeliver.");
        }
    }

    private static WebhookTarget NotSendable(string outcome, string error) =>
        new(null, [], false, WebhookDelivery.Answer(new WebhookSendResult(outcome, null, 0, error, null)));

    /// <summary>The audit event of a final outcome, as the outbound core writes it for every channel (ids and codes only).</summary>
    private static AuditEntry AuditOf(WebhookResult r, OutboundStatus status, bool possibleDuplicate)
    {
        var (claim, answer) = (r.Claim, r.Answer);
        var data = new Dictionary<string, object?>
        {
            ["attempt"] = claim.Attempt,
            ["code"] = answer.Code,
            ["detail"] = answer.Detail,
            ["possibleDuplicate"] = possibleDuplicate,
        };
        var action = AuditActions.WebhookDelivered;
        if (status == OutboundStatus.Failed)
        {
            data["reason"] = r.NotSendable ? "not-sendable" : answer.Outcome == AttemptOutcome.PermanentFailure ? "refused" : "retries-exhausted";
            action = AuditActions.WebhookFailed;
        }

        data["deliveryId"] = claim.Id;
        data["eventId"] = claim.EventId;
        data["eventType"] = claim.EventType;
        return new AuditEntry(action, "webhook", claim.SubscriptionId, data);
    }

    /// <summary>
    /// <paramref name="count"/> UUIDv7 ids of one millisecond for one claim: the first drawn at random, each next one its
    /// predecessor plus one in the random part (RFC 9562, 6.2 method 2), so a claim costs one random draw, not one per
    /// row it might take (an idle poll asks for a whole batch).
    /// </summary>
    internal static Guid[] Version7Ids(int count, DateTimeOffset now)
    {
        var ids = new Guid[count];
        if (count == 0)
            return ids;
        Span<byte> bytes = stackalloc byte[16];
        Guid.CreateVersion7(now).TryWriteBytes(bytes, bigEndian: true, out _);
        // The last 8 bytes: the 2 variant bits, then 62 random bits; counting there never touches the variant, nor the timestamp and version before.
        const ulong randomBits = (1UL << 62) - 1;
        var tail = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        var first = Math.Min(tail & randomBits, randomBits - (ulong)count);
        for (var i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], (tail & ~randomBits) | (first + (ulong)i));
            ids[i] = new Guid(bytes, bigEndian: true);
        }

        return ids;
    }

    private static string? Cut(string? text, int length) => text is { } t && t.Length > length ? t[..length] : text;
}
