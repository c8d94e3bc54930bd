using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Features.Applications;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>What the document promises about every answer, checked on real answers: request id, page links, UTC times.</summary>
public sealed class ContractConventionTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static object Upsert(string candidate) =>
        new { candidate = new { externalId = candidate, firstName = "Ada", email = "ada@example.test" }, positionTitle = "Engineer" };

    [Fact]
    public async Task Every_answer_carries_its_request_id_and_problems_quote_the_same_one()
    {
        var tenant = await api.CreateTenantAsync();
        var ok = await tenant.Admin.GetAsync("/v1/settings");
        Assert.False(string.IsNullOrEmpty(Assert.Single(ok.Headers.GetValues("X-Request-Id"))));

        var bad = await tenant.Admin.GetAsync("/v1/applications?limit=0");
        var problem = await bad.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(problem.GetProperty("traceId").GetString(), Assert.Single(bad.Headers.GetValues("X-Request-Id")));
    }

    [Fact]
    public async Task Pages_say_hasMore_and_link_to_the_next_page_with_the_same_filters()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        for (var i = 0; i < 3; i++)
            await (await ats.PutJsonAsync($"/v1/applications/by-external-id/page-{i}", Upsert($"c-{i}"))).ReadAsync<ApplicationResponse>(HttpStatusCode.Created);

        var first = await ats.GetAsync("/v1/applications?status=active&limit=2");
        var page = await first.ReadAsync<Page<ApplicationResponse>>();
        Assert.True(page.HasMore);
        var link = Assert.Single(first.Headers.GetValues("Link"));
        Assert.Equal($"</v1/applications?status=active&limit=2&after={Uri.EscapeDataString(page.Next!)}>; rel=\"next\"", link);

        var next = await ats.GetAsync(link[1..link.IndexOf('>', StringComparison.Ordinal)]);
        var last = await next.ReadAsync<Page<ApplicationResponse>>();
        Assert.Single(last.Items);
        Assert.False(last.HasMore);
        Assert.False(next.Headers.Contains("Link"));
        using var raw = JsonDocument.Parse(await next.Content.ReadAsStringAsync());
        Assert.False(raw.RootElement.GetProperty("hasMore").GetBoolean());
    }

    [Fact]
    public async Task Times_are_written_in_UTC_with_Z()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync(Roles.Integration);
        var response = await ats.PutJsonAsync("/v1/applications/by-external-id/z-1", Upsert("z-c"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        foreach (var member in new[] { "createdAt", "updatedAt" })
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", body.RootElement.GetProperty(member).GetString());
    }
}
