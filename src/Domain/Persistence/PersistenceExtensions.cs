using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace FeedbackHub.Domain.Persistence;

public static class PersistenceExtensions
{
    /// <summary>
    /// Registers the DbContext on PostgreSQL (connection string <c>ConnectionStrings:Postgres</c>, read when first
    /// needed, so hosts and tests can configure it late), pooled, and a Postgres readiness check tagged "ready".
    /// The caller registers its <see cref="ITenantScope"/>.
    /// </summary>
    public static IServiceCollection AddFeedbackHubDatabase(this IServiceCollection services)
    {
        // Pooled: a request reuses a context instead of building one (and its internal services) each time.
        services.AddPooledDbContextFactory<FeedbackHubDbContext>(
            (sp, options) => Configure(options, ConnectionString(sp.GetRequiredService<IConfiguration>())), poolSize: 256);
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<FeedbackHubDbContext>>().CreateDbContext().Rent(sp.GetRequiredService<ITenantScope>(), sp.GetService<WebhookSubscriptionCache>(), sp.GetService<ApiKeyCache>()));
        services.AddScoped<AuditLog>();
        services.AddScoped<AuditSealer>();
        services.AddSingleton<AuditSigner>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);
        return services;
    }

    public static string ConnectionString(IConfiguration configuration) =>
        configuration.GetConnectionString("Postgres")
        ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not configured.");

    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(Tuned(connectionString), npgsql => npgsql.MigrationsHistoryTable("__ef_migrations_history"));

    /// <summary>
    /// The connection string with FeedbackHub's Npgsql defaults added where the operator did not set them:
    /// <list type="bullet">
    /// <item><c>Max Auto Prepare=64</c>: statements a connection runs often are prepared on it, so PostgreSQL parses and
    /// plans them once instead of on every request (set 0 behind PgBouncer before 1.21 in transaction mode).</item>
    /// <item><c>No Reset On Close=true</c>: a pooled connection is handed out again without <c>DISCARD ALL</c>. Safe
    /// because nothing here leaves session state on a pooled connection: locks are transaction-scoped
    /// (<c>pg_advisory_xact_lock</c>), <c>SET</c> is <c>SET TRANSACTION</c>/<c>SET LOCAL</c> (or <c>set_config(..., true)</c>), and <c>LISTEN</c> runs on a
    /// connection of its own (<c>SessionStateTests</c> keeps it so).</item>
    /// </list>
    /// </summary>
    public static string Tuned(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var tuned = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
            tuned.MaxAutoPrepare = 64;
        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose"))
            tuned.NoResetOnClose = true;
        return tuned.ConnectionString;
    }
}
