using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Telemetry;

/// <summary>FeedbackHub's own instruments in the API host, read with a listener on that host's meters only.</summary>
public sealed class ApiMetricsTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task A_language_check_is_timed_by_operation()
    {
        var tenant = await api.CreateTenantAsync();
        var client = await tenant.ClientAsync("recruiter");
        using var metrics = new MetricCapture(api.Services, "feedbackhub.language.check.duration");

        (await client.PostJsonAsync("/v1/language/check", new { text = "Strong SQL. At his age, though, the pace was hard." })).EnsureSuccessStatusCode();
        (await client.PostJsonAsync("/v1/language/check-batch", new { items = new[] { new { id = "1", text = "Clear answers." }, new { id = "2", text = "Good tests." } } }))
            .EnsureSuccessStatusCode();

        var single = Assert.Single(metrics.Of("feedbackhub.language.check.duration", ("feedbackhub.operation", "check")));
        Assert.InRange(single.Value, double.Epsilon, 5);
        // One measurement per batch: the full engine embeds the batch's texts together.
        Assert.Single(metrics.Of("feedbackhub.language.check.duration", ("feedbackhub.operation", "batch")));
    }
}
