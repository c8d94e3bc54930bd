using System.Net;
using System.Net.Http.Headers;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>Authenticated keys are cached per replica; a revocation anywhere evicts them everywhere.</summary>
public sealed class ApiKeyCacheTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task A_key_revoked_through_one_replica_stops_working_on_another_that_had_it_cached()
    {
        var tenant = await api.CreateTenantAsync();
        var secret = await tenant.KeyAsync("recruiter");
        Assert.True(ApiKey.TryParsePrefix(secret, out var prefix));
        _ = api.Services; // replica A is up
        await using var replicaB = api.WithWebHostBuilder(_ => { });
        var cacheB = replicaB.Services.GetRequiredService<ApiKeyCache>();
        await WaitAsync(() => cacheB.Enabled, "replica B's listener did not connect");
        var clientB = replicaB.CreateClient();
        clientB.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);

        Assert.Equal(HttpStatusCode.OK, (await clientB.GetAsync("/v1/templates")).StatusCode);
        Assert.NotNull(cacheB.Get(prefix)); // B now authenticates the key from memory

        var keyId = (await (await tenant.Admin.GetAsync("/v1/api-keys?limit=100")).ReadAsync<Infrastructure.Page<Features.ApiKeys.ApiKeyResponse>>())
            .Items.Single(k => k.Prefix == prefix).Id;
        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Admin.DeleteAsync($"/v1/api-keys/{keyId}")).StatusCode); // through replica A

        await WaitAsync(() => cacheB.Get(prefix) is null, "replica B still holds the revoked key");
        await (await clientB.GetAsync("/v1/templates")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task A_key_changed_in_the_database_by_anything_is_evicted()
    {
        var tenant = await api.CreateTenantAsync();
        var secret = await tenant.KeyAsync("legal");
        Assert.True(ApiKey.TryParsePrefix(secret, out var prefix));
        var cache = api.Services.GetRequiredService<ApiKeyCache>();
        await WaitAsync(() => cache.Enabled, "the listener did not connect");
        var client = api.ClientWithKey(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/audit/checkpoint")).StatusCode);
        Assert.NotNull(cache.Get(prefix));

        // A role taken away by an operator's SQL (or a command, or another service): no API call evicts it here.
        await api.Database.ExecuteAsync($"UPDATE api_keys SET roles = ARRAY['interviewer'] WHERE prefix = '{prefix}'");

        await WaitAsync(() => cache.Get(prefix) is null, "the changed key is still cached");
        await (await client.GetAsync("/v1/audit/checkpoint")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_save_that_revokes_a_key_evicts_it_from_its_own_replica_without_waiting_for_the_notification()
    {
        var tenant = await api.CreateTenantAsync();
        var secret = await tenant.KeyAsync("recruiter");
        Assert.True(ApiKey.TryParsePrefix(secret, out var prefix));
        // A cache no listener serves: only the save itself can evict from it (revoking a person's keys, changing their
        // roles and the revoke endpoint all save through the context; none of them evicts by hand).
        var cache = new ApiKeyCache(TimeProvider.System);
        cache.SetListening(true);
        await using var db = api.Database.CreateDbContext().Rent(new SystemTenantScope(), apiKeys: cache);
        var key = await db.ApiKeys.SingleAsync(k => k.Prefix == prefix);
        cache.Set(key, cache.Generation);
        Assert.NotNull(cache.Get(prefix));

        key.Revoke(DateTimeOffset.UtcNow);
        await db.SaveChangesAsync();

        Assert.Null(cache.Get(prefix));
    }

    private static async Task WaitAsync(Func<bool> condition, string message)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, message);
            await Task.Delay(20);
        }
    }
}
