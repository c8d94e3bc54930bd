using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Worker.Outbound;

/// <summary>What a channel decided, under the item's locks, when the item came to be sent.</summary>
public abstract record Preparation
{
    /// <summary>Send this (everything the hand-over needs; side effects such as an issued link commit with the claim).</summary>
    public static Preparation Send(object payload) => new Sending(payload);

    /// <summary>Cannot be sent (erased candidate, suppressed address, missing merge value, disabled subscription): one attempt records why, and the item fails.</summary>
    public static Preparation Fail(AttemptAnswer answer) => new Failing(answer);

    /// <summary>No longer wanted (the application was reopened): cancelled, no attempt, nothing sent.</summary>
    public static Preparation Cancel(string reason) => new Cancelling(reason);

    public sealed record Sending(object Payload) : Preparation;

    public sealed record Failing(AttemptAnswer Answer) : Preparation;

    public sealed record Cancelling(string Reason) : Preparation;
}

/// <summary>
/// Thrown by a channel that failed before anything was handed over (say, reading the DKIM key): the attempt is released
/// as not sent, like a stop before the hand-over, and the message is retried.
/// </summary>
public sealed class NotHandedOverException(string message, Exception inner) : Exception(message, inner);

/// <summary>An attempt this process claimed and is sending.</summary>
public sealed record OutboundClaim(Guid ItemId, Guid TenantId, int Attempt, object Payload);

/// <summary>How a channel's outcomes are written to the tenant's audit log.</summary>
public sealed record OutcomeAuditNames(string SubjectType, string Sent, string Failed, string Cancelled, string? Suppressed = null);

/// <summary>
/// One way out (feedback email, invitation, test email, webhook, later SMS). The outbound core
/// (<see cref="OutboundProcessor"/>) does the claim, the lease, the hand-over's bookkeeping, the recording, retries,
/// audit and recovery for every channel; a channel only says what to send and how.
/// </summary>
public interface IOutboundChannel
{
    /// <summary>The value of <c>outbound.channel</c> for this channel's items.</summary>
    string Name { get; }

    RetryPolicy RetryPolicy { get; }

    OutcomeAuditNames AuditNames { get; }

    /// <summary>The message (a contract in FeedbackHub.Messages) that asks a worker to send the item.</summary>
    object MessageFor(OutboundItem item);

    /// <summary>Locks and loads the item (<see cref="OutboundLocks.LockAsync{TItem}"/> with the channel's item type).</summary>
    Task<Locked<OutboundItem>?> LockAsync(FeedbackHubDbContext db, Guid id, CancellationToken ct, bool skipIfBusy = false);

    /// <summary>Locks and loads many items in two round trips (<see cref="OutboundLocks.LockManyAsync{TItem}"/>), in lock order.</summary>
    Task<IReadOnlyList<Locked<OutboundItem>>> LockManyAsync(FeedbackHubDbContext db, IReadOnlyCollection<Guid> ids, CancellationToken ct, bool skipIfBusy = false);

    /// <summary>
    /// In the claim transaction, under the items' locks: is each still to be sent, and what exactly (one preparation per
    /// item, in order). What the items need is read for all of them at once where the channel can. One item's own failure
    /// (not the database's) is an <see cref="ItemClaimFailedException"/> naming it.
    /// </summary>
    Task<IReadOnlyList<Preparation>> PrepareManyAsync(FeedbackHubDbContext db, IReadOnlyList<OutboundItem> items, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// With no transaction open: hands the payload over and says what the other side answered. The token is honoured only
    /// until the hand-over (an <see cref="OperationCanceledException"/> then means nothing was handed over); answers,
    /// failures and timeouts are results, not exceptions.
    /// </summary>
    Task<AttemptAnswer> SendAsync(OutboundClaim claim, CancellationToken ct);

    /// <summary>The items (ids) whose recipient was erased meanwhile: for them no reply text is stored and nothing is suppressed.</summary>
    Task<IReadOnlySet<Guid>> ErasedRecipientsAsync(FeedbackHubDbContext db, IReadOnlyList<OutboundItem> items, CancellationToken ct);

    /// <summary>In the transaction that records the answer: the channel's side effects. Returns true when it suppressed the address.</summary>
    Task<bool> OnAnswerAsync(FeedbackHubDbContext db, OutboundItem item, OutboundClaim claim, AttemptAnswer answer, bool erased, DateTimeOffset now, CancellationToken ct);

    /// <summary>In the transaction that releases an attempt never handed over: undo what the claim prepared (an issued link).</summary>
    Task OnNotSentAsync(FeedbackHubDbContext db, OutboundItem item, OutboundClaim claim, DateTimeOffset now, CancellationToken ct);

    /// <summary>The audit subject of an outcome and the ids that go with it.</summary>
    (Guid SubjectId, IReadOnlyDictionary<string, object?> Ids) AuditSubject(OutboundItem item);
}

/// <summary>The channel that sends what <typeparamref name="TMessage"/> asks for (the consumer's view).</summary>
public interface IOutboundChannel<in TMessage> : IOutboundChannel
    where TMessage : class
{
    Guid ItemIdOf(TMessage message);
}

/// <summary>A channel's typed side: its item type, message type and payload type.</summary>
public abstract class OutboundChannel<TItem, TMessage, TPayload> : IOutboundChannel<TMessage>
    where TItem : OutboundItem
    where TMessage : class
    where TPayload : class
{
    public abstract string Name { get; }

    public abstract RetryPolicy RetryPolicy { get; }

    public abstract OutcomeAuditNames AuditNames { get; }

    public abstract Guid ItemIdOf(TMessage message);

    protected abstract TMessage MessageFor(TItem item);

    protected abstract Task<Preparation> PrepareAsync(FeedbackHubDbContext db, TItem item, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Prepares a claim's items of this channel. By default one by one with <see cref="PrepareAsync"/>; a channel that
    /// reads the same things for every item overrides it to read them for all at once (and prepares one item through it).
    /// </summary>
    protected virtual async Task<IReadOnlyList<Preparation>> PrepareManyAsync(FeedbackHubDbContext db, IReadOnlyList<TItem> items, DateTimeOffset now, CancellationToken ct)
    {
        var prepared = new List<Preparation>(items.Count);
        foreach (var item in items)
            prepared.Add(await OfItemAsync(item.Id, () => PrepareAsync(db, item, now, ct)));
        return prepared;
    }

    /// <summary>Runs one item's part of a batch step: its own failure (not the database's, not a stop) becomes an <see cref="ItemClaimFailedException"/> naming it.</summary>
    protected static async Task<T> OfItemAsync<T>(Guid itemId, Func<Task<T>> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        try
        {
            return await step();
        }
        catch (Exception e) when (IsItemProblem(e))
        {
            throw new ItemClaimFailedException(itemId, e);
        }
    }

    /// <summary>The synchronous <see cref="OfItemAsync{T}"/> (rendering one item of a batch read at once).</summary>
    protected static T OfItem<T>(Guid itemId, Func<T> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        try
        {
            return step();
        }
        catch (Exception e) when (IsItemProblem(e))
        {
            throw new ItemClaimFailedException(itemId, e);
        }
    }

    private static bool IsItemProblem(Exception e) =>
        e is not (OperationCanceledException or ItemClaimFailedException or Npgsql.NpgsqlException) && !DatabaseFailures.IsTransient(e);

    protected abstract Task<AttemptAnswer> SendAsync(TPayload payload, OutboundClaim claim, CancellationToken ct);

    /// <summary>The items whose recipient was erased (by default none: the channel's recipients are not candidates).</summary>
    protected virtual Task<IReadOnlySet<Guid>> ErasedRecipientsAsync(FeedbackHubDbContext db, IReadOnlyList<TItem> items, CancellationToken ct) =>
        Task.FromResult<IReadOnlySet<Guid>>(new HashSet<Guid>());

    protected virtual Task<bool> OnAnswerAsync(FeedbackHubDbContext db, TItem item, TPayload payload, AttemptAnswer answer, bool erased, DateTimeOffset now, CancellationToken ct) =>
        Task.FromResult(false);

    protected virtual Task OnNotSentAsync(FeedbackHubDbContext db, TItem item, TPayload payload, DateTimeOffset now, CancellationToken ct) => Task.CompletedTask;

    protected virtual (Guid SubjectId, IReadOnlyDictionary<string, object?> Ids) AuditSubject(TItem item) => (item.Id, new Dictionary<string, object?>());

    object IOutboundChannel.MessageFor(OutboundItem item) => MessageFor((TItem)item);

    async Task<Locked<OutboundItem>?> IOutboundChannel.LockAsync(FeedbackHubDbContext db, Guid id, CancellationToken ct, bool skipIfBusy) =>
        await OutboundLocks.LockAsync<TItem>(db, id, ct, skipIfBusy) is { } locked ? new Locked<OutboundItem>(locked.Item, locked.Guard) : null;

    async Task<IReadOnlyList<Locked<OutboundItem>>> IOutboundChannel.LockManyAsync(FeedbackHubDbContext db, IReadOnlyCollection<Guid> ids, CancellationToken ct, bool skipIfBusy) =>
        [.. (await OutboundLocks.LockManyAsync<TItem>(db, ids, ct, skipIfBusy)).Select(l => new Locked<OutboundItem>(l.Item, l.Guard))];

    Task<IReadOnlyList<Preparation>> IOutboundChannel.PrepareManyAsync(FeedbackHubDbContext db, IReadOnlyList<OutboundItem> items, DateTimeOffset now, CancellationToken ct) =>
        PrepareManyAsync(db, [.. items.Cast<TItem>()], now, ct);

    Task<AttemptAnswer> IOutboundChannel.SendAsync(OutboundClaim claim, CancellationToken ct) => SendAsync((TPayload)claim.Payload, claim, ct);

    Task<IReadOnlySet<Guid>> IOutboundChannel.ErasedRecipientsAsync(FeedbackHubDbContext db, IReadOnlyList<OutboundItem> items, CancellationToken ct) =>
        ErasedRecipientsAsync(db, [.. items.Cast<TItem>()], ct);

    Task<bool> IOutboundChannel.OnAnswerAsync(FeedbackHubDbContext db, OutboundItem item, OutboundClaim claim, AttemptAnswer answer, bool erased, DateTimeOffset now, CancellationToken ct) =>
        OnAnswerAsync(db, (TItem)item, (TPayload)claim.Payload, answer, erased, now, ct);

    Task IOutboundChannel.OnNotSentAsync(FeedbackHubDbContext db, OutboundItem item, OutboundClaim claim, DateTimeOffset now, CancellationToken ct) =>
        OnNotSentAsync(db, (TItem)item, (TPayload)claim.Payload, now, ct);

    (Guid SubjectId, IReadOnlyDictionary<string, object?> Ids) IOutboundChannel.AuditSubject(OutboundItem item) => AuditSubject((TItem)item);
}
