using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace FeedbackHub.Domain.Persistence;

/// <summary>
/// What a database failure means. Transient ones (the server restarting, failing over or unreachable, a cut connection,
/// a timeout, a deadlock) go away by themselves: worth a retry, and a 503 rather than a 500. Everything else is a bug
/// or refused data. (Npgsql itself empties its pool when a connection breaks, so after a restart only the first use of
/// the pool meets a dead session.)
/// </summary>
public static class DatabaseFailures
{
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException p => p.IsTransient || p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
            or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure,
        NpgsqlException n => n.IsTransient,
        TimeoutException => true,
        // EF Core wraps what it saw: SaveChanges in DbUpdateException, a transient failure in a query (Npgsql's execution strategy) in this.
        DbUpdateException { InnerException: { } inner } => IsTransient(inner),
        InvalidOperationException { InnerException: NpgsqlException or TimeoutException } e => IsTransient(e.InnerException!),
        _ => false,
    };
}
