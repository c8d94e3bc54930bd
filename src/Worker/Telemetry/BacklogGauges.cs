using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Worker.Telemetry;

/// <summary>
/// Gauges of what waits in PostgreSQL, read every <c>Telemetry:BacklogInterval</c> (15 s) with two small queries and
/// reported as last read: due outbox messages not yet published and the oldest one's age (a stuck relay or broker), and
/// outbound items due but not yet claimed and the oldest one's age (stuck consumers), audit events not yet sealed into
/// their tenant's tree and the oldest one's age (the sealing lag). Every worker reports the same shared figures: alert on
/// the maximum, not the sum.
/// </summary>
public sealed partial class BacklogGauges : BackgroundService
{
    private readonly IServiceScopeFactory _scopes;
    private readonly TimeSpan _interval;
    private readonly ILogger<BacklogGauges> _logger;
    private Backlog _last = new(0, 0, 0, 0, 0, 0);

    public BacklogGauges(IServiceScopeFactory scopes, FeedbackHubMetrics metrics, IConfiguration configuration, ILogger<BacklogGauges> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _scopes = scopes;
        _logger = logger;
        _interval = configuration.GetValue("Telemetry:BacklogInterval", TimeSpan.FromSeconds(15));
        var meter = metrics.Meter;
        meter.CreateObservableGauge("feedbackhub.outbox.backlog", () => _last.OutboxDue, "{message}",
            "Outbox messages due and not yet published to RabbitMQ.");
        meter.CreateObservableGauge("feedbackhub.outbox.oldest_age", () => _last.OutboxOldestSeconds, "s",
            "How long the oldest due outbox message has waited to be published.");
        meter.CreateObservableGauge("feedbackhub.outbound.due", () => _last.OutboundDue, "{item}",
            "Emails and webhooks due to be sent and not yet claimed by a worker.");
        meter.CreateObservableGauge("feedbackhub.outbound.oldest_due_age", () => _last.OutboundOldestSeconds, "s",
            "How long the oldest due, unclaimed email or webhook has waited.");
        meter.CreateObservableGauge("feedbackhub.audit.unsealed", () => _last.AuditUnsealed, "{event}",
            "Audit events written and not yet sealed into their tenant's Merkle tree.");
        meter.CreateObservableGauge("feedbackhub.audit.sealing_lag", () => _last.AuditOldestUnsealedSeconds, "s",
            "How long the oldest unsealed audit event has waited to be sealed.");
    }

    // Over both due indexes (webhooks and emails: QueueClaims), so neither part reads the table.
    private const string DueOutbound = $"""
        SELECT sum(n)::int AS "Count", COALESCE(EXTRACT(EPOCH FROM now() - min(oldest)), 0)::float8 AS "OldestSeconds" FROM (
            SELECT count(*) AS n, min(due_at) AS oldest FROM outbound WHERE {QueueClaims.WebhooksDue} AND due_at <= now()
            UNION ALL
            SELECT count(*), min(due_at) FROM outbound WHERE {QueueClaims.EmailsDue} AND due_at <= now()) AS due
        """;

    /// <summary>The figures as last read.</summary>
    public Backlog Last => _last;

    /// <summary>Reads the figures now (the loop calls it; tests too).</summary>
    public async Task<Backlog> ReadAsync(CancellationToken ct)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var outbox = await db.Database.SqlQuery<Waiting>($"""
            SELECT count(*)::int AS "Count", COALESCE(EXTRACT(EPOCH FROM now() - min(due_at)), 0)::float8 AS "OldestSeconds"
            FROM outbox_messages WHERE due_at <= now()
            """).SingleAsync(ct);
        var outbound = await db.Database.SqlQueryRaw<Waiting>(DueOutbound).SingleAsync(ct);
        var audit = await db.Database.SqlQuery<Waiting>($"""
            SELECT count(*)::int AS "Count", COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at)), 0)::float8 AS "OldestSeconds"
            FROM audit_events WHERE sequence IS NULL
            """).SingleAsync(ct);
        _last = new Backlog(outbox.Count, outbox.OldestSeconds, outbound.Count, outbound.OldestSeconds, audit.Count, audit.OldestSeconds);
        return _last;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval);
        do
        {
            try
            {
                await ReadAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The gauges keep their last figures; the database's own health check and alerts tell the rest.
                LogReadFailed(_logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private sealed class Waiting
    {
        public int Count { get; set; }

        public double OldestSeconds { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backlog gauges could not be read ({ExceptionType}); they keep their last figures")]
    private static partial void LogReadFailed(ILogger logger, string exceptionType);
}

/// <summary>What waits: due outbox messages, due outbound items and unsealed audit events, each with the oldest one's age in seconds.</summary>
public sealed record Backlog(int OutboxDue, double OutboxOldestSeconds, int OutboundDue, double OutboundOldestSeconds, int AuditUnsealed, double AuditOldestUnsealedSeconds);
