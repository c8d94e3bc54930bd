using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Domain.Persistence;

public static class PersistenceExtensions
{
    /// <summary>Registers the DbContext on PostgreSQL; the caller registers its <see cref="ITenantScope"/>.</summary>
    public static IServiceCollection AddFeedbackHubDatabase(this IServiceCollection services, string connectionString)
    {
        services.AddDbContext<FeedbackHubDbContext>(options => Configure(options, connectionString));
        services.AddScoped<Auditing.AuditLog>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options.UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable("__ef_migrations_history"));
}
