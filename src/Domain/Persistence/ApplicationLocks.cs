using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// The application's lock as a helper every writer of an application's delivery state calls, so none takes it by hand
/// (lock order: <see cref="DeliveryScheduling"/>).
/// </summary>
public static class ApplicationLocks
{
    /// <summary>
    /// Runs <paramref name="work"/> holding the application's lock, inside the caller's transaction or, when there is
    /// none, in one of its own that commits when the work returns (and rolls back when it throws).
    /// </summary>
    public static async Task<T> WithApplicationLockAsync<T>(
        this FeedbackHubDbContext db, Guid applicationId, Func<LockedApplication, Task<T>> work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(work);
        var own = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
        try
        {
            var result = await work(await DeliveryScheduling.LockApplicationAsync(db, applicationId, ct));
            if (own is not null)
                await own.CommitAsync(ct);
            return result;
        }
        finally
        {
            if (own is not null)
                await own.DisposeAsync();
        }
    }

    /// <inheritdoc cref="WithApplicationLockAsync{T}"/>
    public static Task WithApplicationLockAsync(this FeedbackHubDbContext db, Guid applicationId, Func<LockedApplication, Task> work, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(work);
        return db.WithApplicationLockAsync(applicationId, async locked =>
        {
            await work(locked);
            return true;
        }, ct);
    }
}
