using FeedbackHub.Tests;

namespace FeedbackHub.Worker.Tests.Webhooks;

/// <summary>The worker refuses to start without a valid Webhooks:SecretKey (it could not sign any webhook).</summary>
public sealed class WorkerSecretKeyStartupTests
{
    [Fact]
    public async Task The_worker_does_not_start_without_a_32_byte_key()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            WorkerHost.StartAsync(TestServices.Postgres, "t" + Guid.NewGuid().ToString("N")[..10], new Dictionary<string, string?> { ["Webhooks:SecretKey"] = "c2hvcnQ=" }));
        Assert.Contains("Webhooks:SecretKey must decode to 32 bytes", e.Message, StringComparison.Ordinal);
    }
}
