using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Outbound;

/// <summary>
/// Sends the email channels' items (feedback emails, invitations, test emails, person emails) in batches through the
/// outbound table (docs/decisions/0017-batched-email-dispatch.md), on the same engine as webhooks
/// (<see cref="BatchDispatcher{TClaim}"/>): due items are claimed many per transaction by <see cref="OutboundProcessor"/>
/// (each locked, checked and rendered by its channel), handed to the SMTP sender concurrently (the sender's pooled
/// connections, <c>Smtp:MaxConnections</c>, bound the conversations), and their answers recorded many per transaction.
/// A channel's message (<c>DeliverFeedback</c>, <c>SendInvitation</c>, ...) only wakes it: the item's row decides.
/// </summary>
public sealed partial class EmailDispatcher : BatchDispatcher<ClaimedItem>
{
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<EmailDispatcher> _logger;
    private readonly IServiceScope _sendScope;
    private readonly Dictionary<string, IOutboundChannel> _senders;
    private readonly string[] _names;

    public EmailDispatcher(IServiceScopeFactory scopes, SendingLeases leases, TimeProvider time, IOptions<DeliveryOptions> options, ILogger<EmailDispatcher> logger)
        : base(leases, time, options.Value, Bounds(options.Value), logger)
    {
        _scopes = scopes;
        _logger = logger;
        // The channels that hand items over: a hand-over uses only the channel's singletons (the SMTP sender, the DKIM
        // keys), never a scoped service, so one set of them serves every send.
        _sendScope = scopes.CreateScope();
        _senders = _sendScope.ServiceProvider.GetServices<IOutboundChannel>()
            .Where(c => c.Name != OutboundChannels.Webhook)
            .ToDictionary(c => c.Name, StringComparer.Ordinal);
        _names = [.. _senders.Keys];
    }

    protected override string Name => OutboundWakeUps.Emails;

    private static DispatchBounds Bounds(DeliveryOptions o) => new(o.BatchSize, o.ConcurrentSends, o.ConcurrentSends, o.PollInterval);

    /// <summary>
    /// A claim's items are locked and read together (a handful of round trips whatever their number) but rendered one by
    /// one in the claim's transaction: 64 keep it to a fraction of a second (its locks held, its leases ageing until the
    /// commit) even on a busy machine.
    /// </summary>
    protected override int LargestClaim => 64;

    /// <summary>
    /// A quarter of what the worker may hold (at most a full claim): with a slow mail server, answers free room one by one
    /// and one claim per answer made the claim transactions, not the emails, the worker's main cost.
    /// </summary>
    protected override int SmallestClaim => Math.Clamp(BatchSize / 4, 1, LargestClaim);

    protected override (Guid Id, int Attempt) IdOf(ClaimedItem claim) => (claim.Claim.ItemId, claim.Claim.Attempt);

    protected override async Task<IReadOnlyList<(ClaimedItem Claim, AttemptAnswer? KnownAnswer)>> ClaimAsync(int take, CancellationToken ct)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var processor = scope.ServiceProvider.GetRequiredService<OutboundProcessor>();
        try
        {
            var claimed = await processor.ClaimDueAsync(_names, take, ct);
            return claimed.Select(c => (c, (AttemptAnswer?)null)).ToList();
        }
        catch (ItemClaimFailedException e)
        {
            // One item cannot even be claimed (a bug, bad data): nothing of the batch was claimed. It is put aside so the
            // items due after it go out; it comes back after Delivery:ServerProblemRetry.
            LogPutAside(_logger, e.ItemId, e.InnerException?.GetType().Name ?? "?", e.InnerException ?? e);
            await using var aside = _scopes.CreateAsyncScope();
            await aside.ServiceProvider.GetRequiredService<OutboundProcessor>().PutAsideAsync(e.ItemId, ct);
            WakeUp();
            return [];
        }
    }

    protected override Task<AttemptAnswer> SendAsync(ClaimedItem claim, CancellationToken ct) => _senders[claim.Channel].SendAsync(claim.Claim, ct);

    protected override async Task RecordAsync(IReadOnlyList<DispatchResult<ClaimedItem>> batch)
    {
        await using var scope = _scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<OutboundProcessor>().RecordAsync(batch);
    }

    public override void Dispose()
    {
        _sendScope.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "email {ItemId}: claiming it failed ({ExceptionType}); put aside for Delivery:ServerProblemRetry so the emails due after it go out")]
    private static partial void LogPutAside(ILogger logger, Guid itemId, string exceptionType, Exception exception);
}
