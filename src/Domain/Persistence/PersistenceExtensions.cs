using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

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
        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<FeedbackHubDbContext>>().CreateDbContext().Rent(sp.GetRequiredService<ITenantScope>(), sp.GetService<WebhookSubscriptionCache>()));
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
        options.UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable("__ef_migrations_history"));
}
