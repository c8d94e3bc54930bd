using System.Globalization;
using System.Threading.Channels;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Worker.Outbound;
using Microsoft.Extensions.Options;
using Channel = System.Threading.Channels.Channel;

namespace FeedbackHub.Worker.Webhooks;

/// <summary>
/// Sends webhook deliveries in batches (docs/decisions/0015-batched-webhook-dispatch.md): claims due deliveries straight
/// from the <c>outbound</c> table, many in one transaction, sends them concurrently (at most
/// <see cref="WebhookOptions.ConcurrentSends"/> requests at once, and at most
/// <see cref="WebhookOptions.ConcurrentSendsPerSubscription"/> to one subscription), and records the answers as they come
/// in, many in one transaction. The guarantees are the outbound core's: a claim is committed before its request starts
/// and its lease is renewed while this process holds it; no transaction is open during a request; every attempt is
/// recorded; an answer is recorded only while its attempt is still this process's; retries are due times; at least once.
/// A <c>DeliverWebhook</c> message (a redelivery, recovery) only wakes the dispatcher.
/// </summary>
public sealed partial class WebhookDispatcher(
    IServiceScopeFactory scopes, WebhookSender sender, WebhookSecretBox secrets, SendingLeases leases, TimeProvider time,
    IOptions<WebhookOptions> options, IOptions<DeliveryOptions> delivery, FeedbackHubMetrics metrics, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(2);

    private readonly WebhookOptions _options = options.Value;
    private readonly DeliveryOptions _delivery = delivery.Value;
    private readonly Channel<WebhookResult> _results = Channel.CreateUnbounded<WebhookResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SubscriptionGates _gates = new(Math.Max(1, options.Value.ConcurrentSendsPerSubscription));
    private readonly SemaphoreSlim _sends = new(Math.Max(1, options.Value.ConcurrentSends));
    private int _held;

    /// <summary>The retry rules of webhook deliveries (<c>Webhooks:MaxAttempts</c>, <c>Webhooks:FirstBackoff</c> doubling to an hour).</summary>
    public RetryPolicy RetryPolicy { get; } = new(options.Value.MaxAttempts, options.Value.FirstBackoff, WebhookDelivery.MaxBackoff, WebhookDelivery.MaxBackoff);

    /// <summary>Look for due deliveries now instead of after the poll interval.</summary>
    public void WakeUp()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already awake.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recorder = RecordLoopAsync();
        var sending = new List<Task>();
        var batchSize = Math.Max(1, _options.BatchSize);
        while (!stoppingToken.IsCancellationRequested)
        {
            sending.RemoveAll(t => t.IsCompleted);
            var room = batchSize - Volatile.Read(ref _held);
            var claimed = 0;
            if (room > 0)
            {
                try
                {
                    claimed = await ClaimAsync(room, sending, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (DatabaseFailures.IsTransient(e) || e is Npgsql.NpgsqlException or InvalidOperationException)
                {
                    LogClaimFailed(logger, e.GetType().Name, e);
                }
            }

            // A full claim: more may be due right now, once there is room. Otherwise wait for the poll, a wake-up or room.
            if (claimed > 0 && claimed == room)
                continue;
            try
            {
                await _wake.WaitAsync(claimed > 0 || room <= 0 ? TimeSpan.FromMilliseconds(20) : _options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // Stopping: requests already started run to their answer (and are recorded); claims not yet started are released as not sent.
        await Task.WhenAll(sending);
        _results.Writer.TryComplete();
        await recorder;
    }

    private async Task<int> ClaimAsync(int room, List<Task> sending, CancellationToken ct)
    {
        IReadOnlyList<ClaimedWebhook> claimed;
        IReadOnlyDictionary<Guid, WebhookTarget> targets;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
            (claimed, targets) = await WebhookBatches.ClaimAsync(db, secrets, room, time.GetUtcNow(), _delivery.SendingLease, ct);
        }

        foreach (var claim in claimed)
        {
            // From now on this process renews the claim's lease, until its answer is recorded.
            leases.Hold(claim.Id, claim.Attempt);
            Interlocked.Increment(ref _held);
            if (targets.GetValueOrDefault(claim.SubscriptionId) is not { NotSendable: null } target)
            {
                // Disabled, or its secret does not open: one attempt records why, and the delivery fails without a request.
                var answer = targets.GetValueOrDefault(claim.SubscriptionId)?.NotSendable
                             ?? WebhookDelivery.Answer(new WebhookSendResult(WebhookAttemptOutcomes.SubscriptionDisabled, null, 0, "The subscription no longer exists; nothing was sent.", null));
                _results.Writer.TryWrite(new WebhookResult(claim, answer, NotSendable: true));
                continue;
            }

            sending.Add(SendAsync(claim, target, ct));
        }

        if (claimed.Count > 0)
            LogClaimed(logger, claimed.Count);
        return claimed.Count;
    }

    /// <summary>Waits for a slot (the worker's and the subscription's), sends, and hands the answer to the recorder. Never throws.</summary>
    private async Task SendAsync(ClaimedWebhook claim, WebhookTarget target, CancellationToken ct)
    {
        AttemptAnswer answer;
        var gate = _gates.Enter(claim.SubscriptionId);
        try
        {
            await gate.WaitAsync(ct);
            try
            {
                await _sends.WaitAsync(ct);
                try
                {
                    // Once the request has started it runs to its answer or the timeout, so its outcome is recorded rather than guessed.
                    var result = await sender.SendAsync(target.Url!, claim.Body, Headers(claim, target, time.GetUtcNow()), target.AllowPrivate, _options.Timeout, CancellationToken.None);
                    answer = WebhookDelivery.Answer(result);
                }
                finally
                {
                    _sends.Release();
                }
            }
            finally
            {
                gate.Release();
            }
        }
        catch (OperationCanceledException)
        {
            answer = WebhookBatches.NotSent; // stopped before the request started: nothing left
        }
        catch (Exception e)
        {
            // A failure of our own before the hand-over (never expected: the sender turns failures into answers).
            LogSendFailed(logger, claim.Id, e.GetType().Name, e);
            answer = WebhookBatches.NotSent;
        }
        finally
        {
            _gates.Leave(claim.SubscriptionId);
        }

        _results.Writer.TryWrite(new WebhookResult(claim, answer));
    }

    /// <summary>The request's headers: the signature over the stored body (made now, with every signing secret), the ids and the attempt.</summary>
    public static Dictionary<string, string> Headers(ClaimedWebhook claim, WebhookTarget target, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(target);
        return new Dictionary<string, string>
        {
            [WebhookSignature.Header] = WebhookSignature.HeaderValue(target.Secrets, now.ToUnixTimeSeconds(), claim.Body),
            ["FeedbackHub-Event-Id"] = claim.EventId.ToString(),
            ["FeedbackHub-Event-Type"] = claim.EventType,
            ["FeedbackHub-Delivery-Id"] = claim.Id.ToString(),
            ["FeedbackHub-Attempt"] = claim.Attempt.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// Records answers as they come in: whatever has arrived meanwhile goes into one transaction, and up to
    /// <see cref="Recorders"/> such transactions run at once, so a slow commit does not hold up the next answers.
    /// </summary>
    private async Task RecordLoopAsync()
    {
        var reader = _results.Reader;
        var running = new List<Task>();
        using var recorders = new SemaphoreSlim(Recorders);
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            await recorders.WaitAsync(CancellationToken.None);
            var batch = new List<WebhookResult>();
            while (batch.Count < Math.Max(1, _options.BatchSize) && reader.TryRead(out var result))
                batch.Add(result);
            running.RemoveAll(t => t.IsCompleted);
            running.Add(RecordBatchAsync(batch, recorders));
        }

        await Task.WhenAll(running);
    }

    private const int Recorders = 4;

    private async Task RecordBatchAsync(List<WebhookResult> batch, SemaphoreSlim recorders)
    {
        try
        {
            if (batch.Count > 0)
                await RecordAsync(batch);
        }
        catch (Exception e)
        {
            // Left to recovery: the leases are released below, run out, and the attempts are taken over (sent again, flagged).
            LogRecordFailed(logger, batch.Count, e.GetType().Name, e);
        }
        finally
        {
            foreach (var r in batch)
                leases.Release(r.Claim.Id);
            Interlocked.Add(ref _held, -batch.Count);
            recorders.Release();
            WakeUp(); // room for more
        }
    }

    /// <summary>One batch, retried through database failures for up to <see cref="DeliveryOptions.RecordOutcomeFor"/> (the leases stay renewed meanwhile).</summary>
    private async Task RecordAsync(List<WebhookResult> batch)
    {
        var giveUpAt = time.GetUtcNow() + _delivery.RecordOutcomeFor;
        for (var backoff = TimeSpan.FromMilliseconds(100); ; backoff = backoff * 2 < LongestBackoff ? backoff * 2 : LongestBackoff)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
                var audit = scope.ServiceProvider.GetRequiredService<AuditLog>();
                var recorded = await WebhookBatches.RecordAsync(db, audit, batch, RetryPolicy, time.GetUtcNow(), CancellationToken.None);
                Report(batch, recorded);
                return;
            }
            catch (Exception e) when (DatabaseFailures.IsTransient(e) && time.GetUtcNow() + backoff < giveUpAt)
            {
                LogRecordRetry(logger, batch.Count, e.GetType().Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, time);
            }
        }
    }

    /// <summary>Logs and counts what was recorded (ids and codes only); sent deliveries are counted, logged only at Debug.</summary>
    private void Report(List<WebhookResult> batch, IReadOnlyList<RecordedWebhook> recorded)
    {
        var channel = OutboundChannels.Webhook;
        var sent = 0;
        foreach (var r in recorded)
        {
            var (claim, answer) = (r.Result.Claim, r.Result.Answer);
            var code = answer.Code ?? 0;
            switch (r.Status)
            {
                case OutboundStatus.Sent:
                    sent++;
                    LogSent(logger, claim.Id, code, claim.Attempt);
                    metrics.Delivery(channel, "sent");
                    break;
                case OutboundStatus.Scheduled when answer.Outcome == AttemptOutcome.NotSent:
                    LogReleased(logger, claim.Id);
                    metrics.Delivery(channel, "not_sent");
                    break;
                case OutboundStatus.Scheduled:
                    LogRetry(logger, claim.Id, code, answer.Detail, claim.Attempt, r.DueAt);
                    metrics.Delivery(channel, "retry");
                    break;
                case OutboundStatus.Failed when r.Result.NotSendable:
                    LogNotSendable(logger, claim.Id, answer.Detail);
                    metrics.Delivery(channel, "not_sendable");
                    break;
                default:
                    LogFailed(logger, claim.Id, code, answer.Detail, claim.Attempt);
                    metrics.Delivery(channel, "failed");
                    break;
            }
        }

        if (recorded.Count < batch.Count)
            LogNotRecorded(logger, batch.Count - recorded.Count, batch.Count);
        LogRecorded(logger, recorded.Count, sent);
    }

    public override void Dispose()
    {
        _wake.Dispose();
        _sends.Dispose();
        base.Dispose();
    }

    /// <summary>One semaphore per subscription with claims in this process, dropped when its last claim leaves.</summary>
    private sealed class SubscriptionGates(int bound)
    {
        private readonly Dictionary<Guid, (SemaphoreSlim Gate, int Users)> _gates = [];

        public SemaphoreSlim Enter(Guid subscriptionId)
        {
            lock (_gates)
            {
                var (gate, users) = _gates.TryGetValue(subscriptionId, out var found) ? found : (new SemaphoreSlim(bound), 0);
                _gates[subscriptionId] = (gate, users + 1);
                return gate;
            }
        }

        public void Leave(Guid subscriptionId)
        {
            lock (_gates)
            {
                var (gate, users) = _gates[subscriptionId];
                if (users > 1)
                {
                    _gates[subscriptionId] = (gate, users - 1);
                    return;
                }

                _gates.Remove(subscriptionId);
                gate.Dispose();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "webhook: claimed {Count} due deliveries")]
    private static partial void LogClaimed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "webhook: recorded {Count} attempts ({Sent} delivered)")]
    private static partial void LogRecorded(ILogger logger, int count, int sent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook: claiming due deliveries failed ({ExceptionType}); trying again")]
    private static partial void LogClaimFailed(ILogger logger, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "webhook {ItemId}: sending failed before the request ({ExceptionType}); released to be sent again")]
    private static partial void LogSendFailed(ILogger logger, Guid itemId, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook: recording {Count} attempts failed ({ExceptionType}); trying again in {BackoffMs} ms")]
    private static partial void LogRecordRetry(ILogger logger, int count, string exceptionType, double backoffMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "webhook: {Count} answers could not be recorded ({ExceptionType}); their attempts are sent again once their leases run out")]
    private static partial void LogRecordFailed(ILogger logger, int count, string exceptionType, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook: {Count} of {Total} attempts were taken over by recovery (or deleted) before their answers were recorded; nothing recorded for them")]
    private static partial void LogNotRecorded(ILogger logger, int count, int total);

    [LoggerMessage(Level = LogLevel.Debug, Message = "webhook {ItemId} sent: {Code} on attempt {Attempt}")]
    private static partial void LogSent(ILogger logger, Guid itemId, int code, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "webhook {ItemId} was stopped before it was handed over; released to be sent again")]
    private static partial void LogReleased(ILogger logger, Guid itemId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook {ItemId} attempt {Attempt} failed temporarily ({Code} {Detail}); next try at {DueAt}")]
    private static partial void LogRetry(ILogger logger, Guid itemId, int code, string? detail, int attempt, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook {ItemId} cannot be sent ({Detail}); failed without sending")]
    private static partial void LogNotSendable(ILogger logger, Guid itemId, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "webhook {ItemId} failed ({Code} {Detail}) on attempt {Attempt}")]
    private static partial void LogFailed(ILogger logger, Guid itemId, int code, string? detail, int attempt);
}
