using System.Net;
using System.Security.Cryptography;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Domain.Webhooks;
using FeedbackHub.Tests;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>The API after an operator replaced Webhooks:SecretKey: the new key is current, the old one is in Webhooks:PreviousSecretKeys.</summary>
public sealed class KeyRotationFixture : IAsyncLifetime
{
    public KeyRotationFixture()
    {
        Api.Settings[WebhookSecretBox.ConfigurationKey] = NewKey;
        Api.Settings[WebhookSecretBox.PreviousKeysConfigurationKey] = OldKey;
    }

    /// <summary>The key every other test host uses: here, the one being retired.</summary>
    public static string OldKey => TestServices.WebhookSecretKey;

    public string NewKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public ApiFactory Api { get; } = new();

    public Task InitializeAsync() => Api.InitializeAsync();

    public Task DisposeAsync() => ((IAsyncLifetime)Api).DisposeAsync();
}

/// <summary>Rotating the operator's Webhooks:SecretKey end to end: receivers keep verifying with the secrets they hold.</summary>
public sealed class WebhookKeyRotationTests(KeyRotationFixture fixture) : IClassFixture<KeyRotationFixture>, IAsyncLifetime
{
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    [Fact]
    public async Task A_new_key_with_the_old_one_as_previous_then_rekey_then_the_new_key_alone_keeps_every_secret_working()
    {
        var api = fixture.Api;
        var tenant = await api.CreateTenantAsync(settings: WebhookPipelineTests.DevSettings);
        var now = DateTimeOffset.UtcNow;
        // Subscribed before the key change (sealed under the old key), and one sealed under a key nobody has any more.
        var (before, secret) = WebhookSubscription.Create(
            tenant.Id, new Uri(_receiver.Url("/before")), [WebhookEventTypes.FeedbackRequested], null, new WebhookSecretBox(Convert.FromBase64String(KeyRotationFixture.OldKey)), now);
        var (lost, _) = WebhookSubscription.Create(
            tenant.Id, new Uri(_receiver.Url("/lost")), [WebhookEventTypes.FeedbackRequested], null, new WebhookSecretBox(RandomNumberGenerator.GetBytes(32)), now);
        await using (var db = api.Database.CreateDbContext())
        {
            db.WebhookSubscriptions.AddRange(before, lost);
            await db.SaveChangesAsync();
        }

        var prefix = "t" + Guid.NewGuid().ToString("N")[..10];

        // 1. Both hosts have the new key and the old one as previous: the old seal still opens.
        await using (await WorkerHost.StartAsync(api.Database.ConnectionString, prefix, WorkerSettings(previous: KeyRotationFixture.OldKey)))
        {
            await WebhookPipelineTests.RaiseRequestAsync(api, tenant.Id);
            await WebhookPipelineTests.WaitUntilAsync(() => _receiver.At("/before").Count == 1, "the event under the previous key");
        }

        var first = Assert.Single(_receiver.At("/before"));
        Assert.True(WebhookReceiver.Verify(secret, first.Signature, first.Body, DateTimeOffset.UtcNow));
        Assert.Empty(_receiver.At("/lost")); // unreadable: failed without a request

        // 2. The command re-seals what it can and names what it cannot.
        var (exit, output, error) = await RekeyAsync();
        Assert.Equal(1, exit);
        Assert.Contains("1 re-sealed under the current key, 0 already current, 1 unreadable (1 previous key(s) configured)", output, StringComparison.Ordinal);
        Assert.Contains(lost.Id.ToString(), error, StringComparison.Ordinal);
        Assert.DoesNotContain(before.Id.ToString(), error, StringComparison.Ordinal);

        // The lost one's tenant rotates its secret (sealed under the new key); a second run finds everything current.
        var rotated = await (await tenant.Admin.PostAsync($"/v1/webhooks/{lost.Id}/rotate-secret", null)).ReadAsync<WebhookSecretResponse>(HttpStatusCode.OK);
        (exit, output, _) = await RekeyAsync();
        Assert.Equal(0, exit);
        Assert.Contains("0 re-sealed under the current key, 2 already current, 0 unreadable", output, StringComparison.Ordinal);
        Assert.Contains("Webhooks:PreviousSecretKeys can be removed", output, StringComparison.Ordinal);

        // 3. The old key is gone from the worker: the same secret still signs.
        await using (await WorkerHost.StartAsync(api.Database.ConnectionString, prefix, WorkerSettings(previous: null)))
        {
            await WebhookPipelineTests.RaiseRequestAsync(api, tenant.Id);
            await WebhookPipelineTests.WaitUntilAsync(() => _receiver.At("/before").Count == 2 && _receiver.At("/lost").Count == 1, "the events under the new key alone");
        }

        var second = _receiver.At("/before")[1];
        Assert.NotEqual(first.EventId, second.EventId);
        Assert.True(WebhookReceiver.Verify(secret, second.Signature, second.Body, DateTimeOffset.UtcNow));
        var afterRotation = Assert.Single(_receiver.At("/lost"));
        Assert.True(WebhookReceiver.Verify(rotated.Secret, afterRotation.Signature, afterRotation.Body, DateTimeOffset.UtcNow));
    }

    private Dictionary<string, string?> WorkerSettings(string? previous)
    {
        var settings = WebhookFixture.WorkerSettings();
        settings[WebhookSecretBox.ConfigurationKey] = fixture.NewKey;
        settings[WebhookSecretBox.PreviousKeysConfigurationKey] = previous;
        return settings;
    }

    private async Task<(int Exit, string Output, string Error)> RekeyAsync()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HostCommands.Find(["rekey-webhook-secrets"])!(fixture.Api.Services, [], output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
