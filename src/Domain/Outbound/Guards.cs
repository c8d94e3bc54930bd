namespace FeedbackHub.Domain.Outbound;

/// <summary>
/// Proof that the application's lock (the one every writer of its delivery state takes) is held by the current
/// transaction. Only <c>ApplicationLocks.LockAsync</c> creates one, so a method that needs it cannot be called without
/// taking the lock.
/// </summary>
public sealed class LockedApplication
{
    internal LockedApplication(Guid applicationId) => ApplicationId = applicationId;

    public Guid ApplicationId { get; }

    internal void Check(Guid applicationId)
    {
        if (applicationId != ApplicationId)
            throw new InvalidOperationException($"The lock is held for application {ApplicationId}, not {applicationId}.");
    }
}

/// <summary>
/// Proof that an outbound item is locked by the current transaction: for an item sent because of an application, by
/// that application's lock (every writer of such an item takes it); for any other item, by its row's lock. Only
/// <c>OutboundLocks.LockAsync</c> creates one.
/// </summary>
public sealed class OutboundGuard
{
    internal OutboundGuard(Guid itemId, LockedApplication? application)
    {
        ItemId = itemId;
        Application = application;
    }

    public Guid ItemId { get; }

    /// <summary>The application's lock, for an item sent because of an application.</summary>
    public LockedApplication? Application { get; }
}

/// <summary>
/// One outbound item's own failure (a bug, bad data: not the database) while a batch of items was being locked, checked
/// or prepared: nothing of the batch is kept, and the dispatcher puts that item aside so the items due after it go out.
/// </summary>
public sealed class ItemClaimFailedException(Guid itemId, Exception inner) : Exception($"Claiming outbound item {itemId} failed.", inner)
{
    public Guid ItemId { get; } = itemId;
}
