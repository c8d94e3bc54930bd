using System.Net;
using System.Text.Json;
using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Foundation;

public sealed class HealthTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    [Fact]
    public async Task Live_answers_without_a_key()
    {
        var response = await api.CreateClient().GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Ready_checks_postgres_and_rabbitmq()
    {
        var response = await api.CreateClient().GetAsync("/health/ready");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("rabbitmq").GetProperty("status").GetString());
    }
}
