using FeedbackHub.Tests;

namespace FeedbackHub.Api.Tests.Webhooks;

/// <summary>The API refuses to start without a valid Webhooks:SecretKey, and says what to do.</summary>
public sealed class WebhookSecretKeyStartupTests
{
    [Theory]
    [InlineData("", "is not configured")]
    [InlineData("c2hvcnQ=", "32 bytes")]
    public async Task The_api_does_not_start_without_a_32_byte_key(string key, string expected)
    {
        await using var factory = new ApiFactory();
        factory.Settings["Webhooks:SecretKey"] = key;
        var e = Assert.Throws<InvalidOperationException>(() => factory.CreateClient());
        Assert.Contains("Webhooks:SecretKey", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", e.Message, StringComparison.Ordinal);
    }
}
