using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Worker.Tests.Persistence;

/// <summary>The hosts' DbContext comes from a pool: a reused instance takes each unit of work's tenant scope, and one nobody scoped runs no query.</summary>
public sealed class ContextPoolTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    [Fact]
    public async Task A_pooled_context_reused_by_another_tenant_sees_only_that_tenants_rows()
    {
        var now = DateTimeOffset.UtcNow;
        var (a, b) = (Tenant.Create("Pool A", now), Tenant.Create("Pool B", now));
        await using (var db = database.CreateDbContext())
        {
            db.Tenants.AddRange(a, b);
            db.Candidates.AddRange(Candidate(a.Id, "a-1"), Candidate(b.Id, "b-1"), Candidate(b.Id, "b-2"));
            await db.SaveChangesAsync();
        }

        Guid? tenant = a.Id; // each unit of work gets its own scope object, fixed at its start
        await using var services = Services(s => s.AddScoped<ITenantScope>(_ => new FixedScope(tenant)));
        FeedbackHubDbContext first;
        using (var unit = services.CreateScope())
        {
            first = unit.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
            Assert.Equal(["a-1"], await first.Candidates.Select(c => c.ExternalId).ToListAsync());
        }

        tenant = b.Id;
        using (var unit = services.CreateScope())
        {
            var second = unit.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
            Assert.Same(first, second); // the pool gave the same instance back
            Assert.Equal(["b-1", "b-2"], await second.Candidates.OrderBy(c => c.ExternalId).Select(c => c.ExternalId).ToListAsync());
        }
    }

    [Fact]
    public async Task A_context_taken_from_the_pool_without_a_tenant_scope_runs_no_query()
    {
        await using var services = Services(s => s.AddScoped<ITenantScope>(_ => new FixedScope(null)));
        var factory = services.GetRequiredService<IDbContextFactory<FeedbackHubDbContext>>();
        await using var db = factory.CreateDbContext();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => db.Candidates.CountAsync());
        Assert.Contains("tenant scope", e.Message, StringComparison.Ordinal);
    }

    private static Candidate Candidate(Guid tenantId, string externalId) =>
        Domain.Model.Candidate.Create(tenantId, new CandidateDetails(externalId, "Pool", "Test", $"{externalId}@example.test", "en"), DateTimeOffset.UtcNow);

    private ServiceProvider Services(Action<IServiceCollection> tenantScope)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = database.ConnectionString }).Build());
        services.AddFeedbackHubDatabase();
        tenantScope(services);
        return services.BuildServiceProvider();
    }

    private sealed record FixedScope(Guid? TenantId) : ITenantScope;
}
