using System.Net;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>The API while its database restarts or is unreachable: 503 with Retry-After, never a 500, and no error at all after a restart.</summary>
public sealed class DatabaseOutageTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task An_unreachable_database_answers_503_with_Retry_After_and_readiness_reports_it()
    {
        var tenant = await api.CreateTenantAsync();
        var recruiter = await tenant.ClientAsync("recruiter");
        Assert.Equal(HttpStatusCode.OK, (await recruiter.GetAsync("/v1/deliveries")).StatusCode);
        await api.Database.CloseAsync();
        try
        {
            foreach (var response in new[]
                     {
                         await recruiter.GetAsync("/v1/deliveries"),
                         await recruiter.PutAsync("/v1/applications/by-external-id/a-1", HttpAssertions.JsonBody(new
                         {
                             candidate = new { externalId = "c-1", firstName = "Ada", email = "ada@example.com" },
                             positionTitle = "Backend Engineer",
                         })),
                         await tenant.Admin.PostJsonAsync("/v1/api-keys", new { displayName = "During the outage", roles = new[] { "legal" } }),
                     })
            {
                await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "unavailable");
                Assert.Equal(TimeSpan.FromSeconds(ProblemExceptionHandler.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
            }

            var ready = await api.CreateClient().GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("\"postgres\":{\"status\":\"Unhealthy\"", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await api.Database.ReopenAsync();
        }

        Assert.Equal(HttpStatusCode.OK, (await recruiter.GetAsync("/v1/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.CreateClient().GetAsync("/health/ready")).StatusCode);
        Assert.DoesNotContain(api.Logs.Lines, l => l.StartsWith("Error FeedbackHub", StringComparison.Ordinal)); // 503s are warnings, not unhandled errors
    }

    [Fact]
    public async Task After_a_restart_ended_every_pooled_connection_reads_and_puts_answer_as_if_nothing_happened()
    {
        var tenant = await api.CreateTenantAsync();
        var ats = await tenant.ClientAsync("integration");
        var recruiter = await tenant.ClientAsync("recruiter");
        var body = new { candidate = new { externalId = "c-2", firstName = "Ada", email = "ada@example.com" }, positionTitle = "Backend Engineer" };
        Assert.Equal(HttpStatusCode.Created, (await ats.PutAsync("/v1/applications/by-external-id/a-2", HttpAssertions.JsonBody(body))).StatusCode);
        // Several connections in the pool, all of them killed by the "restart".
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => recruiter.GetAsync("/v1/deliveries")));
        await api.Database.EndSessionsAsync();

        Assert.Equal(HttpStatusCode.OK, (await recruiter.GetAsync("/v1/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ats.PutAsync("/v1/applications/by-external-id/a-2", HttpAssertions.JsonBody(body))).StatusCode);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ => (await recruiter.GetAsync("/v1/deliveries")).StatusCode));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Contains(api.Logs.Lines, l => l.Contains("running it once more", StringComparison.Ordinal));
    }
}
