using System.Net;
using FeedbackHub.Api.Features.ApiKeys;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

public sealed class ApiKeyTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Created_key_authenticates_until_revoked_then_answers_401()
    {
        var tenant = await api.CreateTenantAsync();
        var created = await (await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "ATS", roles = new[] { "integration", "admin" } }))
            .ReadAsync<CreatedApiKeyResponse>(HttpStatusCode.Created);
        Assert.StartsWith("fh_", created.Secret);
        Assert.Equal(["admin", "integration"], created.Roles);

        var client = api.ClientWithKey(created.Secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/api-keys")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Admin.DeleteAsync($"/v1/api-keys/{created.Id}")).StatusCode);
        await (await client.GetAsync("/v1/api-keys")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");

        var listed = await (await tenant.Admin.GetAsync($"/v1/api-keys/{created.Id}")).ReadAsync<ApiKeyResponse>();
        Assert.NotNull(listed.RevokedAt);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer fh_000000000000_0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("Bearer not-a-key")]
    [InlineData("Basic YWRtaW46YWRtaW4=")]
    public async Task Missing_or_bad_key_answers_401_problem(string? authorization)
    {
        var client = api.CreateClient();
        if (authorization is not null)
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        var response = await client.GetAsync("/v1/api-keys");
        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Key_with_a_wrong_secret_for_a_real_prefix_answers_401()
    {
        var tenant = await api.CreateTenantAsync();
        var forged = tenant.AdminKey[..16] + new string('0', 64);
        await (await api.ClientWithKey(forged).GetAsync("/v1/api-keys")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData(Roles.Recruiter)]
    [InlineData(Roles.Interviewer)]
    [InlineData(Roles.Legal)]
    [InlineData(Roles.Integration)]
    public async Task Roles_other_than_admin_cannot_manage_keys(string role)
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync(role);
        await (await client.GetAsync("/v1/api-keys")).AssertProblemAsync(HttpStatusCode.Forbidden, "forbidden");
        await (await client.PostJsonAsync("/v1/api-keys", new { displayName = "x", roles = new[] { "admin" } })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await using var db = api.Database.CreateDbContext();
        Assert.DoesNotContain(db.ApiKeys, k => k.TenantId == tenant.Id && k.DisplayName == "x");
    }

    [Fact]
    public async Task Another_tenants_key_answers_404_and_stays_active()
    {
        var mine = await api.CreateTenantAsync();
        var theirs = await api.CreateTenantAsync();
        var theirKey = await (await theirs.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "Theirs", roles = new[] { "recruiter" } }))
            .ReadAsync<CreatedApiKeyResponse>(HttpStatusCode.Created);

        await (await mine.Admin.GetAsync($"/v1/api-keys/{theirKey.Id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
        await (await mine.Admin.DeleteAsync($"/v1/api-keys/{theirKey.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        var list = await (await mine.Admin.GetAsync("/v1/api-keys?limit=100")).ReadAsync<Page<ApiKeyResponse>>();
        Assert.DoesNotContain(list.Items, k => k.Id == theirKey.Id);

        var stillThere = await (await theirs.Admin.GetAsync($"/v1/api-keys/{theirKey.Id}")).ReadAsync<ApiKeyResponse>();
        Assert.Null(stillThere.RevokedAt);
    }

    [Fact]
    public async Task Secret_never_appears_after_creation_in_responses_logs_or_database()
    {
        var tenant = await api.CreateTenantAsync();
        var created = await (await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "Secretive", roles = new[] { "admin" } }))
            .ReadAsync<CreatedApiKeyResponse>(HttpStatusCode.Created);
        var client = api.ClientWithKey(created.Secret);
        var secretPart = created.Secret[16..]; // the part after fh_<prefix>_

        var bodies = new List<string>
        {
            await (await client.GetAsync("/v1/api-keys?limit=100")).Content.ReadAsStringAsync(),
            await (await client.GetAsync($"/v1/api-keys/{created.Id}")).Content.ReadAsStringAsync(),
            await (await client.GetAsync("/v1/audit?limit=100")).Content.ReadAsStringAsync(),
            await (await client.GetAsync("/v1/nope")).Content.ReadAsStringAsync(),
        };
        Assert.All(bodies, b => Assert.DoesNotContain(secretPart, b, StringComparison.Ordinal));
        Assert.Contains(bodies, b => b.Contains(created.Prefix, StringComparison.Ordinal)); // the listing did answer
        Assert.NotEmpty(api.Logs.Lines);
        Assert.DoesNotContain(api.Logs.Lines, l => l.Contains(secretPart, StringComparison.Ordinal));

        var dump = await api.Database.DumpAsync();
        Assert.Contains(created.Id.ToString(), dump, StringComparison.Ordinal);
        Assert.DoesNotContain(secretPart, dump, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_role_and_empty_name_answer_422_listing_the_fields()
    {
        var tenant = await api.CreateTenantAsync();
        var problem = await (await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = " ", roles = new[] { "superuser" } }))
            .AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "validation");
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("displayName", out _));
        Assert.Contains("Known roles: admin", errors.GetProperty("roles[0]")[0].GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("superuser", errors.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_last_active_admin_key_cannot_be_revoked()
    {
        var tenant = await api.CreateTenantAsync();
        var keys = await (await tenant.Admin.GetAsync("/v1/api-keys")).ReadAsync<Page<ApiKeyResponse>>();
        var admin = Assert.Single(keys.Items);
        await (await tenant.Admin.DeleteAsync($"/v1/api-keys/{admin.Id}")).AssertProblemAsync(HttpStatusCode.Conflict, "last-admin-key");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin.GetAsync("/v1/api-keys")).StatusCode);
    }

    [Fact]
    public async Task Listing_pages_with_a_next_cursor()
    {
        var tenant = await api.CreateTenantAsync();
        for (var i = 0; i < 4; i++)
            await tenant.KeyAsync(Roles.Recruiter);
        var first = await (await tenant.Admin.GetAsync("/v1/api-keys?limit=2")).ReadAsync<Page<ApiKeyResponse>>();
        Assert.Equal(2, first.Items.Count);
        Assert.NotNull(first.Next);
        var second = await (await tenant.Admin.GetAsync($"/v1/api-keys?limit=2&after={first.Next}")).ReadAsync<Page<ApiKeyResponse>>();
        var third = await (await tenant.Admin.GetAsync($"/v1/api-keys?limit=2&after={second.Next}")).ReadAsync<Page<ApiKeyResponse>>();
        var all = first.Items.Concat(second.Items).Concat(third.Items).Select(k => k.Id).ToList();
        Assert.Equal(5, all.Distinct().Count());
        Assert.Null(third.Next);
    }
}
