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
        Assert.Equal(2, metrics.Of("feedbackhub.language.check.duration", ("feedbackhub.operation", "batch")).Count);
    }

    [Fact]
    public async Task A_save_with_audit_events_times_their_sealing_into_the_chain()
    {
        var tenant = await api.CreateTenantAsync();
        using var metrics = new MetricCapture(api.Services, "feedbackhub.audit.append.duration");

        (await tenant.Admin.PatchAsync("/v1/settings", HttpAssertions.JsonBody(new { coolingOffMinutes = 60 }))).EnsureSuccessStatusCode();

        var sealing = Assert.Single(metrics.Of("feedbackhub.audit.append.duration"));
        Assert.InRange(sealing.Value, double.Epsilon, 5);
    }

    [Fact]
    public async Task A_read_without_audit_events_seals_nothing()
    {
        var tenant = await api.CreateTenantAsync();
        using var metrics = new MetricCapture(api.Services, "feedbackhub.audit.append.duration");

        (await tenant.Admin.GetAsync("/v1/settings")).EnsureSuccessStatusCode();

        Assert.Empty(metrics.Of("feedbackhub.audit.append.duration"));
    }
}
