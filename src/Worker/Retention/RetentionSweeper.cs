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

    /// <summary>Candidates fetched and erased per batch, in one short transaction by a fixed number of set-based statements.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Batches erased at the same time, each in its own transaction (FOR UPDATE SKIP LOCKED gives each its own
    /// candidates). A further batch starts only while the last one fetched was full, so a small run takes one.
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
/// and then every <see cref="RetentionOptions.Interval"/>; each run erases batches of due candidates, each batch in one
/// transaction: fetched with FOR UPDATE SKIP LOCKED (so several workers share the work), erased per tenant by
/// <see cref="CandidateErasure.EraseManyAsync"/> (which re-checks, under the locks, that each is still due and not on
/// hold), <see cref="RetentionOptions.Parallelism"/> batches at a time, audited per candidate as <c>candidate.erased</c>
/// with reason <c>retention</c> by the system. Logs carry counts and ids only.
/// </summary>
public sealed partial class RetentionSweeper(IServiceScopeFactory scopes, TimeProvider time, IOptions<RetentionOptions> options, ILogger<RetentionSweeper> logger)
    : BatchLoop(time, logger, "retention", "a retention run")
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

    /// <summary>One run: erases due candidates batch by batch until none is left or <see cref="RetentionOptions.MaxPerRun"/> is reached.</summary>
    public async Task<RetentionRun> RunOnceAsync(CancellationToken ct)
    {
        var now = Time.GetUtcNow();
        var run = new RunState(Math.Max(1, _options.BatchSize), Math.Max(0, _options.MaxPerRun), Math.Max(1, _options.Parallelism));
        run.Start(() => WorkAsync(run, now, ct));
        await run.WhenAllDoneAsync();

        var pruned = await PruneWebhookLogAsync(now, run.Max, ct);
        var result = new RetentionRun(run.Erased, run.Skipped, run.Batches, run.Erased + run.Skipped >= run.Max && run.Max > 0, pruned);
        LogRun(logger, result.Erased, result.Skipped, result.Batches, result.ReachedMaxPerRun, result.WebhookEventsDeleted);
        return result;
    }

    /// <summary>One of the run's parallel loops: batch after batch while each comes back full and the bound allows.</summary>
    private async Task WorkAsync(RunState run, DateTimeOffset now, CancellationToken ct)
    {
        while (run.TryReserve(out var take))
        {
            var fetched = await EraseBatchAsync(run, take, now, ct);
            run.Return(take - fetched);
            if (fetched < take)
            {
                run.NothingMore();
                return;
            }
        }
    }

    /// <summary>One batch in one transaction: due candidates fetched and locked, erased per tenant. Returns how many were fetched.</summary>
    private async Task<int> EraseBatchAsync(RunState run, int take, DateTimeOffset now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var audit = scope.ServiceProvider.GetRequiredService<AuditLog>();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var due = await CandidateErasure.DueForRetentionAsync(db, now, take, ct);
        if (due.Count == take)
            run.Start(() => WorkAsync(run, now, ct)); // more may be waiting: another batch alongside this one
        if (due.Count == 0)
            return 0;

        var erased = new List<(Guid Candidate, Guid Tenant)>();
        var skipped = new List<Guid>();
        foreach (var tenant in due.GroupBy(d => d.TenantId))
        {
            var batch = await CandidateErasure.EraseManyAsync(db, audit, tenant.Key, [.. tenant.Select(d => d.CandidateId)], Actor.System, ErasureReason.Retention, now, ct);
            erased.AddRange(batch.Erased.Select(e => (e.CandidateId, tenant.Key)));
            skipped.AddRange(batch.NotDue);
        }

        await tx.CommitAsync(ct);
        run.Count(erased.Count, skipped.Count);
        foreach (var (candidate, tenant) in erased)
            LogErased(logger, candidate, tenant);
        foreach (var candidate in skipped)
            LogNoLongerDue(logger, candidate);
        return due.Count;
    }

    /// <summary>The shared state of one run's parallel loops: the bound, the counts and the loops themselves.</summary>
    private sealed class RunState(int batchSize, int max, int parallelism)
    {
        private readonly Lock _gate = new();
        private readonly List<Task> _loops = [];
        private int _reserved;
        private int _running;
        private bool _nothingMore;

        public int Max => max;

        public int Erased { get; private set; }

        public int Skipped { get; private set; }

        public int Batches { get; private set; }

        /// <summary>Starts another loop unless <paramref name="parallelism"/> are running or there is nothing more to do.</summary>
        public void Start(Func<Task> loop)
        {
            lock (_gate)
            {
                if (_running >= parallelism || _nothingMore || _reserved >= max)
                    return;
                _running++;
                _loops.Add(Task.Run(async () =>
                {
                    try
                    {
                        await loop();
                    }
                    finally
                    {
                        lock (_gate)
                            _running--;
                    }
                }));
            }
        }

        /// <summary>Takes up to a batch from what the bound still allows.</summary>
        public bool TryReserve(out int take)
        {
            lock (_gate)
            {
                take = _nothingMore ? 0 : Math.Min(batchSize, max - _reserved);
                _reserved += take;
                return take > 0;
            }
        }

        public void Return(int unused)
        {
            lock (_gate)
                _reserved -= unused;
        }

        public void NothingMore()
        {
            lock (_gate)
                _nothingMore = true;
        }

        public void Count(int erased, int skipped)
        {
            lock (_gate)
            {
                Erased += erased;
                Skipped += skipped;
                Batches++;
            }
        }

        /// <summary>Waits for every loop, including those started while waiting; the first failure is thrown.</summary>
        public async Task WhenAllDoneAsync()
        {
            while (true)
            {
                Task[] loops;
                lock (_gate)
                    loops = [.. _loops];
                await Task.WhenAll(loops);
                lock (_gate)
                {
                    if (_loops.Count == loops.Length)
                        return;
                }
            }
        }
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention is disabled (Retention:Enabled=false); no candidate is erased automatically")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention run: {Erased} candidates erased, {Skipped} skipped, {Batches} batches, bound reached: {ReachedMax}; {WebhookEvents} old webhook events deleted")]
    private static partial void LogRun(ILogger logger, int erased, int skipped, int batches, bool reachedMax, int webhookEvents);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Candidate {CandidateId} of tenant {TenantId} erased by retention")]
    private static partial void LogErased(ILogger logger, Guid candidateId, Guid tenantId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Candidate {CandidateId} is no longer due for retention; skipped")]
    private static partial void LogNoLongerDue(ILogger logger, Guid candidateId);
}
