using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using FeedbackHub.Messages;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace FeedbackHub.Worker.Outbox;

public sealed class OutboxOptions
{
    /// <summary>How long the relay sleeps when it found less than a full batch.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    public int BatchSize { get; set; } = 100;

    /// <summary>How long one publish may wait for the broker's confirm before the row is retried later.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Publishes due outbox rows to RabbitMQ. Rows are claimed with FOR UPDATE SKIP LOCKED, so any number
/// of relays (one per worker process) share the work; a row is deleted only after the broker confirmed it,
/// in the same transaction that held its lock. If the commit fails after publishing, the row is published
/// again and consumers drop the duplicate by message id. Wake-up messages due together are published as one per type
/// (<see cref="Coalesce"/>, docs/decisions/0017-batched-email-dispatch.md).
/// </summary>
public sealed partial class OutboxRelay(IServiceScopeFactory scopes, IBus bus, TimeProvider time, IOptions<OutboxOptions> options, ILogger<OutboxRelay> logger)
    : BatchLoop(time, logger, "outbox relay", "publishing due messages")
{
    private readonly OutboxOptions _options = options.Value;

    protected override int BatchSize => _options.BatchSize;

    protected override TimeSpan Pause => _options.PollInterval;

    protected override Task<int> RunBatchAsync(CancellationToken ct) => PublishDueAsync(ct);

    /// <summary>Publishes one batch of due rows; returns how many were published.</summary>
    public async Task<int> PublishDueAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var now = Time.GetUtcNow();
        var due = await db.OutboxMessages
            .FromSqlRaw(QueueClaims.Pick("SELECT * FROM outbox_messages WHERE due_at <= {0} ORDER BY due_at LIMIT {1} FOR UPDATE SKIP LOCKED"), now, _options.BatchSize)
            .AsNoTracking()
            .ToListAsync(ct);
        if (due.Count == 0)
            return 0;

        // A batch that publishes is traced (the poll itself is not, see BatchLoop): one span, MassTransit's sends under it.
        using var traced = SuppressInstrumentationScope.Begin(false);
        using var activity = FeedbackHubActivities.Source.StartActivity("outbox publish");
        activity?.SetTag("feedbackhub.outbox.batch_size", due.Count);
        var groups = Coalesce(due);
        activity?.SetTag("feedbackhub.outbox.published", groups.Count);
        var results = await Task.WhenAll(groups.Select(group => PublishAsync(group[0], ct)));
        // The confirmed rows go in one statement; only a failed row is tracked, to record why. A wake-up group shares its
        // message's fate: all of its rows are confirmed, or all wait for the next try.
        var confirmed = new List<Guid>(due.Count);
        for (var i = 0; i < groups.Count; i++)
        {
            foreach (var row in groups[i])
            {
                if (results[i] is null)
                {
                    confirmed.Add(row.Id);
                }
                else
                {
                    db.OutboxMessages.Attach(row);
                    row.RecordPublishFailure(results[i]!, now);
                }
            }
        }

        var published = confirmed.Count;
        if (published > 0)
            await db.Database.ExecuteSqlAsync($"DELETE FROM outbox_messages WHERE id = ANY({confirmed.ToArray()})", ct);
        if (published < due.Count)
            await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        if (published < due.Count)
            LogPublishFailures(logger, due.Count - published, due.Count);
        return published;
    }

    /// <summary>
    /// The batch's rows as the messages to publish, in due order: a row of a wake-up contract
    /// (<see cref="WakeUpOnlyAttribute"/>) joins the first due row of its type, so a thousand emails due together cost one
    /// message per channel instead of a thousand; any other row is a message of its own. A group is published as its
    /// first row (its id is the message id).
    /// </summary>
    internal static List<List<OutboxMessage>> Coalesce(IReadOnlyList<OutboxMessage> due)
    {
        var groups = new List<List<OutboxMessage>>(due.Count);
        var wakeUps = new Dictionary<string, List<OutboxMessage>>(StringComparer.Ordinal);
        foreach (var row in due)
        {
            if (!MessageTypes.IsWakeUpOnly(row.MessageType))
            {
                groups.Add([row]);
            }
            else if (wakeUps.TryGetValue(row.MessageType, out var group))
            {
                group.Add(row);
            }
            else
            {
                wakeUps[row.MessageType] = group = [row];
                groups.Add(group);
            }
        }

        return groups;
    }

    /// <summary>Null when the broker confirmed; otherwise why not.</summary>
    private async Task<string?> PublishAsync(OutboxMessage row, CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.PublishTimeout);
            var message = row.Deserialize();
            await bus.Publish(message, message.GetType(), context =>
            {
                context.MessageId = row.Id;
                context.Durable = true;
            }, timeout.Token);
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return "The broker did not confirm in time.";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox relay could not publish {Failed} of {Total} due messages; they stay in the outbox")]
    private static partial void LogPublishFailures(ILogger logger, int failed, int total);
}
