using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Retention;

public sealed class RetentionOptions
{
    /// <summary>Off: the worker never erases by retention (the sweep can still be run explicitly).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between two runs; the first run is at start.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Candidates fetched per batch (each is erased in its own short transaction).</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>
    /// Candidates of a batch erased at the same time, each in its own transaction (they only meet on the tenant's
    /// audit-chain lock, held for the last two round trips of each erasure).
    /// </summary>
    public int Parallelism { get; set; } = 4;

    /// <summary>At most this many candidates per run (erased or skipped), so one run stays bounded; the rest waits for the next run.</summary>
    public int MaxPerRun { get; set; } = 10_000;

    /// <summary>
    /// Webhook events (with their deliveries and attempts) are deleted this many days after they occurred, once none of
    /// their deliveries is still pending; 0 keeps them forever. They hold ids only, but a log kept forever serves nobody.
    /// </summary>
    public int WebhookLogDays { get; set; } = 90;
}

/// <summary>What one run did.</summary>
public sealed record RetentionRun(int Erased, int Skipped, int Batches, bool ReachedMaxPerRun, int WebhookEventsDeleted = 0);

/// <summary>
/// Erases candidates whose tenant's retention period after their last activity has passed
/// (<see cref="CandidateErasure.DueForRetentionAsync"/>), never one with an application under legal hold. Runs at start
/// and then every <see cref="RetentionOptions.Interval"/>; each run fetches batches of due candidates with
/// FOR UPDATE SKIP LOCKED (so several workers share the work) and erases each in its own transaction
/// (<see cref="RetentionOptions.Parallelism"/> at a time), audited as
/// <c>candidate.erased</c> with reason <c>retention</c> by the system. Logs carry counts and ids only.
/// </summary>
public sealed partial class RetentionSweeper(IServiceScopeFactory scopes, TimeProvider time, IOptions<RetentionOptions> options, ILogger<RetentionSweeper> logger)
    : BatchLoop(time)
{
    private readonly RetentionOptions _options = options.Value;

    /// <summary>A run is never "full": after each run the loop waits for the interval.</summary>
    protected override int BatchSize => int.MaxValue;

    protected override TimeSpan Pause => _options.Interval;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            LogDisabled(logger);
            return;
        }

        await base.ExecuteAsync(stoppingToken);
    }

    protected override async Task<int> RunBatchAsync(CancellationToken ct) => (await RunOnceAsync(ct)).Erased;

    protected override void OnBatchFailed(Exception exception) => LogRunFailed(logger, exception.GetType().Name, exception);

    /// <summary>One run: erases due candidates batch by batch until none is left or <see cref="RetentionOptions.MaxPerRun"/> is reached.</summary>
    public async Task<RetentionRun> RunOnceAsync(CancellationToken ct)
    {
        var now = Time.GetUtcNow();
        int erased = 0, skipped = 0, batches = 0;
        var batchSize = Math.Max(1, _options.BatchSize);
        var max = Math.Max(0, _options.MaxPerRun);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.Parallelism), CancellationToken = ct };
        while (erased + skipped < max)
        {
            var take = Math.Min(batchSize, max - erased - skipped);
            List<DueCandidate> due;
            await using (var scope = scopes.CreateAsyncScope())
                due = await CandidateErasure.DueForRetentionAsync(scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>(), now, take, ct);
            if (due.Count == 0)
                break;
            batches++;
            await Parallel.ForEachAsync(due, parallel, async (candidate, token) =>
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
                if (await TryEraseAsync(db, scope.ServiceProvider.GetRequiredService<AuditLog>(), candidate, now, token))
                    Interlocked.Increment(ref erased);
                else
                    Interlocked.Increment(ref skipped);
            });

            if (due.Count < take)
                break;
        }

        var pruned = await PruneWebhookLogAsync(now, max, ct);
        var run = new RetentionRun(erased, skipped, batches, erased + skipped >= max && max > 0, pruned);
        LogRun(logger, run.Erased, run.Skipped, run.Batches, run.ReachedMaxPerRun, run.WebhookEventsDeleted);
        return run;
    }

    /// <summary>
    /// Deletes webhook events older than <see cref="RetentionOptions.WebhookLogDays"/> whose deliveries are all finished
    /// (deliveries and attempts go with them), in batches, at most <paramref name="max"/> per run.
    /// </summary>
    private async Task<int> PruneWebhookLogAsync(DateTimeOffset now, int max, CancellationToken ct)
    {
        if (_options.WebhookLogDays <= 0)
            return 0;
        var cutoff = now.AddDays(-_options.WebhookLogDays);
        var batch = Math.Max(1, _options.BatchSize) * 10;
        var deleted = 0;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        while (deleted < max)
        {
            var take = Math.Min(batch, max - deleted);
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var events = await db.Database.SqlQuery<Guid>($"""
                SELECT e.id AS "Value" FROM webhook_events e
                WHERE e.occurred_at < {cutoff}
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d JOIN outbound o ON o.id = d.id WHERE d.event_id = e.id AND o.status IN ('Scheduled', 'Sending'))
                ORDER BY e.occurred_at LIMIT {take} FOR UPDATE OF e SKIP LOCKED
                """).ToListAsync(ct);
            var ids = events.ToArray();
            // The deliveries' outbound rows first (they cascade to the deliveries and their attempts), then the events.
            await db.Database.ExecuteSqlAsync($"DELETE FROM outbound WHERE id IN (SELECT id FROM webhook_deliveries WHERE event_id = ANY({ids}))", ct);
            var n = await db.Database.ExecuteSqlAsync($"DELETE FROM webhook_events WHERE id = ANY({ids})", ct);
            await tx.CommitAsync(ct);
            deleted += n;
            if (n < take)
                break;
        }

        return deleted;
    }

    /// <summary>Erases one candidate in its own transaction, after checking (with its row locked) that it is still due.</summary>
    private async Task<bool> TryEraseAsync(FeedbackHubDbContext db, AuditLog audit, DueCandidate candidate, DateTimeOffset now, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var still = await CandidateErasure.DueForRetentionAsync(db, now, 1, ct, only: candidate.CandidateId);
        if (still.Count == 0)
        {
            LogNoLongerDue(logger, candidate.CandidateId);
            return false; // erased, active again, put on hold, or being erased by another worker meanwhile
        }

        try
        {
            await CandidateErasure.EraseAsync(db, audit, candidate.TenantId, candidate.CandidateId, Actor.System, ErasureReason.Retention, now, ct);
        }
        catch (DomainException e) when (e.Code == "legal-hold")
        {
            LogNoLongerDue(logger, candidate.CandidateId);
            return false;
        }

        await tx.CommitAsync(ct);
        LogErased(logger, candidate.CandidateId, candidate.TenantId);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention is disabled (Retention:Enabled=false); no candidate is erased automatically")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention run: {Erased} candidates erased, {Skipped} skipped, {Batches} batches, bound reached: {ReachedMax}; {WebhookEvents} old webhook events deleted")]
    private static partial void LogRun(ILogger logger, int erased, int skipped, int batches, bool reachedMax, int webhookEvents);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Candidate {CandidateId} of tenant {TenantId} erased by retention")]
    private static partial void LogErased(ILogger logger, Guid candidateId, Guid tenantId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Candidate {CandidateId} is no longer due for retention; skipped")]
    private static partial void LogNoLongerDue(ILogger logger, Guid candidateId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention run failed ({ExceptionType}); next run after the interval")]
    private static partial void LogRunFailed(ILogger logger, string exceptionType, Exception exception);
}
