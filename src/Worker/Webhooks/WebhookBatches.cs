using System.Security.Cryptography;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

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

    /// <summary>
    /// Claims up to <paramref name="take"/> due deliveries (oldest due first, rows another transaction holds skipped):
    /// each becomes Sending with a lease and a new attempt in progress, committed before anything is sent. Also returns
    /// the targets of their subscriptions, secrets opened once per subscription.
    /// </summary>
    public static async Task<(IReadOnlyList<ClaimedWebhook> Claimed, IReadOnlyDictionary<Guid, WebhookTarget> Targets)> ClaimAsync(
        FeedbackHubDbContext db, WebhookSecretBox secrets, int take, DateTimeOffset now, TimeSpan lease, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction)tx.GetDbTransaction();
        var claimed = new List<ClaimedWebhook>();
        await using (var select = new NpgsqlCommand(
            """
            SELECT o.id, o.tenant_id, d.subscription_id, d.event_id, d.event_type, e.body,
                   coalesce(a.last, 0) + 1, coalesce(a.failures, 0)::int
            FROM (SELECT id FROM outbound
                  WHERE channel = 'webhook' AND status = 'Scheduled' AND due_at <= @now
                  ORDER BY due_at LIMIT @take FOR UPDATE SKIP LOCKED) c
            JOIN outbound o ON o.id = c.id
            JOIN webhook_deliveries d ON d.id = o.id
            JOIN webhook_events e ON e.id = d.event_id
            LEFT JOIN LATERAL (SELECT max(number) AS last, count(*) FILTER (WHERE outcome = 'TransientFailure' AND counts_against_budget) AS failures
                               FROM outbound_attempts WHERE outbound_id = o.id) a ON true
            ORDER BY o.due_at, o.id
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("now", now);
            select.Parameters.AddWithValue("take", take);
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                claimed.Add(new ClaimedWebhook(
                    reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7)));
            }
        }

        if (claimed.Count == 0)
        {
            await tx.CommitAsync(CancellationToken.None);
            return ([], new Dictionary<Guid, WebhookTarget>());
        }

        await using (var claim = new NpgsqlCommand(
            """
            WITH c AS (SELECT * FROM unnest(@ids, @attempt_ids, @tenants, @numbers) AS c(id, attempt_id, tenant_id, number)),
            u AS (UPDATE outbound o SET status = 'Sending', lease_until = @until, updated_at = @now FROM c WHERE o.id = c.id)
            INSERT INTO outbound_attempts (id, outbound_id, tenant_id, number, started_at, outcome, counts_against_budget)
            SELECT attempt_id, id, tenant_id, number, @now, 'InProgress', true FROM c
            """, connection, transaction))
        {
            claim.Parameters.AddWithValue("ids", claimed.Select(c => c.Id).ToArray());
            claim.Parameters.AddWithValue("attempt_ids", claimed.Select(_ => Guid.CreateVersion7(now)).ToArray());
            claim.Parameters.AddWithValue("tenants", claimed.Select(c => c.TenantId).ToArray());
            claim.Parameters.AddWithValue("numbers", claimed.Select(c => c.Attempt).ToArray());
            claim.Parameters.AddWithValue("until", now + lease);
            claim.Parameters.AddWithValue("now", now);
            await claim.ExecuteNonQueryAsync(ct);
        }

        var subscriptionIds = claimed.Select(c => c.SubscriptionId).Distinct().ToList();
        var subscriptions = await (
            from s in db.WebhookSubscriptions.AsNoTracking()
            join t in db.Tenants.AsNoTracking() on s.TenantId equals t.Id
            where subscriptionIds.Contains(s.Id)
            select new { Subscription = s, t.Settings }).ToListAsync(ct);
        var targets = subscriptions.ToDictionary(s => s.Subscription.Id, s => Target(s.Subscription, s.Settings.AllowPrivateWebhookTargets, secrets, now));

        // Not cancellable: a cancelled COMMIT may still have committed, and a claim nobody knows about waits for its lease.
        await tx.CommitAsync(CancellationToken.None);
        return (claimed, targets);
    }

    /// <summary>
    /// Records a batch of results in one transaction: locks their rows (in id order, as recovery and the API take them),
    /// finishes each attempt still in progress and moves its delivery on (<see cref="Next"/>), and audits every final
    /// outcome. An attempt no longer in progress (recovery took it over after its lease ran out; or a retried record that
    /// had committed) is left as it is. Returns what was recorded.
    /// </summary>
    public static async Task<IReadOnlyList<RecordedWebhook>> RecordAsync(
        FeedbackHubDbContext db, AuditLog audit, IReadOnlyList<WebhookResult> results, RetryPolicy policy, DateTimeOffset now, CancellationToken ct)
    {
        db.DiscardPendingChanges(); // a failed try keeps the audit events it added; every try starts afresh
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction)tx.GetDbTransaction();
        var next = results.Select(r => Next(r.Answer, r.Claim.Failures, policy, now)).ToList();
        var byId = results.Select((r, i) => (r, i)).ToDictionary(x => x.r.Claim.Id, x => x.i);
        var recorded = new List<RecordedWebhook>(results.Count);
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            var ids = results.Select(r => r.Claim.Id).ToArray();
            var lockRows = new NpgsqlBatchCommand("SELECT id FROM outbound WHERE id = ANY(@ids) ORDER BY id FOR UPDATE");
            lockRows.Parameters.AddWithValue("ids", ids);
            var update = new NpgsqlBatchCommand(
                """
                WITH h AS (SELECT * FROM unnest(@ids, @numbers, @outcomes, @codes, @replies, @details, @durations, @excerpts, @counts, @statuses, @due, @duplicates, @keep_reply)
                           AS h(id, number, outcome, code, reply, detail, duration_ms, excerpt, counts, status, due_at, duplicate, keep_reply)),
                a AS (UPDATE outbound_attempts a
                      SET outcome = h.outcome, code = h.code, reply = h.reply, detail = h.detail, duration_ms = h.duration_ms,
                          response_excerpt = h.excerpt, counts_against_budget = h.counts, finished_at = @now
                      FROM h WHERE a.outbound_id = h.id AND a.number = h.number AND a.outcome = 'InProgress'
                      RETURNING a.outbound_id)
                UPDATE outbound o
                SET status = h.status, due_at = h.due_at, possible_duplicate = o.possible_duplicate OR h.duplicate,
                    last_reply = CASE WHEN h.keep_reply THEN o.last_reply ELSE h.reply END,
                    sent_at = CASE WHEN h.status = 'Sent' THEN @now ELSE o.sent_at END, lease_until = NULL, updated_at = @now
                FROM h WHERE o.id = h.id AND o.status = 'Sending' AND o.id IN (SELECT outbound_id FROM a)
                RETURNING o.id, o.status, o.due_at, o.possible_duplicate
                """);
            var answers = results.Select(r => r.Answer).ToList();
            update.Parameters.AddWithValue("ids", ids);
            update.Parameters.AddWithValue("numbers", results.Select(r => r.Claim.Attempt).ToArray());
            update.Parameters.AddWithValue("outcomes", answers.Select(a => a.Outcome.ToString()).ToArray());
            update.Parameters.AddWithValue("codes", answers.Select(a => a.Code).ToArray());
            update.Parameters.AddWithValue("replies", answers.Select(a => Cut(a.Reply, 1000)).ToArray());
            update.Parameters.AddWithValue("details", answers.Select(a => Cut(a.Detail, OutboundAttempt.MaxDetailLength)).ToArray());
            update.Parameters.AddWithValue("durations", answers.Select(a => a.DurationMs).ToArray());
            update.Parameters.AddWithValue("excerpts", answers.Select(a => string.IsNullOrEmpty(a.ResponseExcerpt) ? null : Cut(a.ResponseExcerpt, OutboundAttempt.MaxExcerptLength)).ToArray());
            update.Parameters.AddWithValue("counts", next.Select(n => n.CountsAgainstBudget).ToArray());
            update.Parameters.AddWithValue("statuses", next.Select(n => n.Status.ToString()).ToArray());
            update.Parameters.AddWithValue("due", next.Select(n => n.DueAt).ToArray());
            update.Parameters.AddWithValue("duplicates", answers.Select(a => a.MayHaveBeenAccepted && a.Outcome != AttemptOutcome.Accepted).ToArray());
            update.Parameters.AddWithValue("keep_reply", answers.Select(a => a.Outcome == AttemptOutcome.NotSent).ToArray());
            update.Parameters.AddWithValue("now", now);
            batch.BatchCommands.Add(lockRows);
            batch.BatchCommands.Add(update);
            await using var reader = await batch.ExecuteReaderAsync(ct);
            await reader.NextResultAsync(ct); // past the locked ids
            while (await reader.ReadAsync(ct))
            {
                var result = results[byId[reader.GetGuid(0)]];
                recorded.Add(new RecordedWebhook(result, Enum.Parse<OutboundStatus>(reader.GetString(1)), reader.GetFieldValue<DateTimeOffset>(2), reader.GetBoolean(3)));
            }
        }

        foreach (var r in recorded.Where(r => r.Status is OutboundStatus.Sent or OutboundStatus.Failed))
            Audit(audit, r);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(CancellationToken.None);
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

    private static WebhookTarget Target(WebhookSubscription subscription, bool allowPrivate, WebhookSecretBox secrets, DateTimeOffset now)
    {
        if (!subscription.Enabled)
            return NotSendable(WebhookAttemptOutcomes.SubscriptionDisabled, "The subscription is disabled; nothing was sent.");
        try
        {
            return new WebhookTarget(new Uri(subscription.Url), subscription.SigningSecrets(secrets, now), allowPrivate, null);
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
    private static void Audit(AuditLog audit, RecordedWebhook r)
    {
        var (claim, answer) = (r.Result.Claim, r.Result.Answer);
        var data = new Dictionary<string, object?>
        {
            ["attempt"] = claim.Attempt,
            ["code"] = answer.Code,
            ["detail"] = answer.Detail,
            ["possibleDuplicate"] = r.PossibleDuplicate,
        };
        var action = AuditActions.WebhookDelivered;
        if (r.Status == OutboundStatus.Failed)
        {
            data["reason"] = r.Result.NotSendable ? "not-sendable" : answer.Outcome == AttemptOutcome.PermanentFailure ? "refused" : "retries-exhausted";
            action = AuditActions.WebhookFailed;
        }

        data["deliveryId"] = claim.Id;
        data["eventId"] = claim.EventId;
        data["eventType"] = claim.EventType;
        audit.Record(claim.TenantId, Actor.System, action, "webhook", claim.SubscriptionId, data);
    }

    private static string? Cut(string? text, int length) => text is { } t && t.Length > length ? t[..length] : text;
}
