using System.Net;
using System.Text.Json;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Domain.Model;
using FeedbackHub.Tests;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Api.Tests.Webhooks;

/// <summary>POST /v1/webhooks/{id}/ping and the secret rotation's overlap, against a real receiver.</summary>
public sealed class WebhookPingTests(ApiFactory api) : IClassFixture<ApiFactory>
{
    private static readonly TenantSettings Dev = TenantSettings.Default with { AllowPrivateWebhookTargets = true };

    [Fact]
    public async Task Ping_sends_one_signed_webhook_ping_and_reports_the_answer_storing_nothing()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await api.CreateTenantAsync(settings: Dev);
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = receiver.Url(), events = new[] { "delivery.sent" } }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);

        var ping = await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/ping", null)).ReadAsync<WebhookPingResponse>();

        Assert.True(ping.Delivered);
        Assert.Equal(("delivered", 200), (ping.Outcome, ping.StatusCode));
        var received = Assert.Single(receiver.Received);
        Assert.Equal(("webhook.ping", ping.EventId.ToString()), (received.EventType, received.EventId));
        Assert.True(WebhookReceiver.Verify(created.Secret, received.Signature, received.Body, DateTimeOffset.UtcNow));
        using var body = JsonDocument.Parse(received.Body);
        Assert.Equal("webhook.ping", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(created.Id, body.RootElement.GetProperty("data").GetProperty("subscriptionId").GetGuid());
        Assert.EndsWith("Z", body.RootElement.GetProperty("occurredAt").GetString(), StringComparison.Ordinal);

        await using var db = api.Database.CreateDbContext();
        Assert.False(await db.WebhookEvents.IgnoreQueryFilters().AnyAsync(e => e.TenantId == tenant.Id));
        Assert.False(await db.WebhookDeliveries.IgnoreQueryFilters().AnyAsync(d => d.SubscriptionId == created.Id));
    }

    [Fact]
    public async Task Ping_reports_a_refusing_receiver_without_retrying()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (_, _) => new ReceiverAnswer(503);
        var tenant = await api.CreateTenantAsync(settings: Dev);
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = receiver.Url(), events = new[] { "delivery.sent" } }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);

        var ping = await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/ping", null)).ReadAsync<WebhookPingResponse>();

        Assert.False(ping.Delivered);
        Assert.Equal(("http-error", 503), (ping.Outcome, ping.StatusCode));
        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task After_rotation_both_secrets_sign_during_the_overlap()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await api.CreateTenantAsync(settings: Dev);
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = receiver.Url(), events = new[] { "delivery.sent" } }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        var before = DateTimeOffset.UtcNow;
        var rotated = await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/rotate-secret", null)).ReadAsync<WebhookSecretResponse>();
        Assert.InRange(rotated.PreviousSecretExpiresAt!.Value, before.AddHours(24).AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(24).AddMinutes(1));

        await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/ping", null)).ReadAsync<WebhookPingResponse>();

        var received = Assert.Single(receiver.Received);
        Assert.Equal(2, received.Signature!.Split(',').Count(p => p.StartsWith("v1=", StringComparison.Ordinal)));
        Assert.True(WebhookReceiver.Verify(created.Secret, received.Signature, received.Body, DateTimeOffset.UtcNow), "a receiver that knows only the old secret accepts it");
        Assert.True(WebhookReceiver.Verify(rotated.Secret, received.Signature, received.Body, DateTimeOffset.UtcNow), "a receiver that knows only the new secret accepts it");
    }

    [Fact]
    public async Task Another_tenants_subscription_cannot_be_pinged()
    {
        var owner = await api.CreateTenantAsync(settings: Dev);
        var created = await (await owner.Admin.PostJsonAsync("/v1/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "delivery.sent" } }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        var other = await api.CreateTenantAsync();
        await (await other.Admin.PostAsync($"/v1/webhooks/{created.Id}/ping", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        var recruiter = await owner.ClientAsync(Roles.Recruiter);
        await (await recruiter.PostAsync($"/v1/webhooks/{created.Id}/ping", null)).AssertProblemAsync(HttpStatusCode.Forbidden);
    }
}

/// <summary>A zero <c>Webhooks:SecretOverlap</c> drops the replaced secret at once.</summary>
public sealed class WebhookNoOverlapTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _api;

    public WebhookNoOverlapTests(ApiFactory api)
    {
        _api = api;
        _api.Settings["Webhooks:SecretOverlap"] = "00:00:00";
    }

    [Fact]
    public async Task Without_overlap_only_the_new_secret_signs()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var tenant = await _api.CreateTenantAsync(settings: TenantSettings.Default with { AllowPrivateWebhookTargets = true });
        var created = await (await tenant.Admin.PostJsonAsync("/v1/webhooks", new { url = receiver.Url(), events = new[] { "delivery.sent" } }))
            .ReadAsync<CreatedWebhookResponse>(HttpStatusCode.Created);
        var rotated = await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/rotate-secret", null)).ReadAsync<WebhookSecretResponse>();
        Assert.Null(rotated.PreviousSecretExpiresAt);

        await (await tenant.Admin.PostAsync($"/v1/webhooks/{created.Id}/ping", null)).ReadAsync<WebhookPingResponse>();

        var received = Assert.Single(receiver.Received);
        Assert.False(WebhookReceiver.Verify(created.Secret, received.Signature, received.Body, DateTimeOffset.UtcNow));
        Assert.True(WebhookReceiver.Verify(rotated.Secret, received.Signature, received.Body, DateTimeOffset.UtcNow));
    }
}
