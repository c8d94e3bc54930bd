using System.Security.Cryptography;
using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Domain.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    /// <summary>The worked example of docs/webhooks.md, "Verifying a signature": this test keeps the document true.</summary>
    public const string DocSecret = "whsec_S2V5Rm9yRG9jdW1lbnRhdGlvbk9ubHlOb3RSZWFsMDA";
    public const long DocTimestamp = 1767225600;
    public const string DocBody =
        """{"id":"019b7a3c-2e00-7000-8000-000000000001","type":"delivery.sent","occurredAt":"2026-01-01T00:00:00Z","data":{"applicationId":"019b7a3c-2e00-7000-8000-0000000000a1","applicationExternalId":"ats-app-1042","candidateId":"019b7a3c-2e00-7000-8000-0000000000c1","candidateExternalId":"ats-cand-77","requestId":"019b7a3c-2e00-7000-8000-0000000000b1","feedbackId":"019b7a3c-2e00-7000-8000-0000000000f1","deliveryId":"019b7a3c-2e00-7000-8000-0000000000d1","status":"sent"}}""";
    public const string DocSignature = "bd9e74a92dec41fb9452f6cf154efad7a5c1983375aee660bead4159fa1288fe";

    [Fact]
    public void The_worked_example_of_the_documentation_gives_exactly_its_signature()
    {
        Assert.Equal(DocSignature, WebhookSignature.Compute(DocSecret, DocTimestamp, DocBody));
        Assert.Equal($"t={DocTimestamp},v1={DocSignature}", WebhookSignature.HeaderValue(DocSecret, DocTimestamp, DocBody));
    }

    [Fact]
    public void The_documentation_quotes_the_worked_example_verbatim()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "webhooks.md"));
        Assert.Contains(DocSecret, doc, StringComparison.Ordinal);
        Assert.Contains(DocBody, doc, StringComparison.Ordinal);
        Assert.Contains($"t={DocTimestamp},v1={DocSignature}", doc, StringComparison.Ordinal);
    }

    [Fact]
    public void The_signature_changes_with_the_body_the_timestamp_and_the_secret()
    {
        var reference = WebhookSignature.Compute(DocSecret, DocTimestamp, DocBody);
        Assert.NotEqual(reference, WebhookSignature.Compute(DocSecret, DocTimestamp + 1, DocBody));
        Assert.NotEqual(reference, WebhookSignature.Compute(DocSecret, DocTimestamp, DocBody + " "));
        Assert.NotEqual(reference, WebhookSignature.Compute(DocSecret + "x", DocTimestamp, DocBody));
        Assert.Matches("^[0-9a-f]{64}$", reference);
    }

    [Fact]
    public void A_secret_is_whsec_and_32_random_bytes_in_base64url()
    {
        var a = WebhookSubscription.NewSecret();
        var b = WebhookSubscription.NewSecret();
        Assert.Matches("^whsec_[A-Za-z0-9_-]{43}$", a);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void A_sealed_secret_opens_only_with_the_same_key_and_subscription()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var box = new WebhookSecretBox(key);
        var id = Guid.NewGuid();
        var secret = WebhookSubscription.NewSecret();
        var sealedSecret = box.Seal(secret, id);

        Assert.Equal(1, sealedSecret[0]); // version byte
        Assert.Equal(1 + 12 + secret.Length + 16, sealedSecret.Length);
        Assert.DoesNotContain(secret, System.Text.Encoding.UTF8.GetString(sealedSecret), StringComparison.Ordinal);
        Assert.Equal(secret, box.Open(sealedSecret, id));
        Assert.NotEqual(sealedSecret, box.Seal(secret, id)); // a fresh nonce every time
        Assert.ThrowsAny<CryptographicException>(() => box.Open(sealedSecret, Guid.NewGuid()));
        Assert.ThrowsAny<CryptographicException>(() => new WebhookSecretBox(RandomNumberGenerator.GetBytes(32)).Open(sealedSecret, id));
        sealedSecret[20] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => box.Open(sealedSecret, id));
    }

    [Theory]
    [InlineData(null, "is not configured")]
    [InlineData("", "is not configured")]
    [InlineData("not base64!", "not valid base64")]
    [InlineData("AAAA", "32 bytes")]
    public void A_missing_or_wrong_key_fails_with_a_clear_message(string? value, string expected)
    {
        var e = Assert.Throws<InvalidOperationException>(() => WebhookSecretBox.FromConfiguration(value));
        Assert.Contains("Webhooks:SecretKey", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void After_a_key_change_secrets_open_with_the_previous_key_and_are_resealed_under_the_new_one()
    {
        var oldKey = RandomNumberGenerator.GetBytes(32);
        var newKey = RandomNumberGenerator.GetBytes(32);
        var (subscription, secret) = WebhookSubscription.Create(
            Guid.NewGuid(), new Uri("https://hooks.example.com/fh"), [WebhookEventTypes.DeliverySent], null, new WebhookSecretBox(oldKey), DateTimeOffset.UtcNow);
        var rotating = WebhookSecretBox.FromConfiguration(Convert.ToBase64String(newKey), $" {Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))} , {Convert.ToBase64String(oldKey)} ");

        Assert.Equal(2, rotating.PreviousKeyCount);
        Assert.Equal(secret, rotating.Open(subscription.SealedSecret, subscription.Id, out var current));
        Assert.False(current);

        Assert.True(subscription.ResealUnderCurrentKey(rotating));
        Assert.False(subscription.ResealUnderCurrentKey(rotating)); // a second pass changes nothing
        Assert.Equal(secret, new WebhookSecretBox(newKey).Open(subscription.SealedSecret, subscription.Id)); // the new key alone opens it now
        Assert.ThrowsAny<CryptographicException>(() => new WebhookSecretBox(oldKey).Open(subscription.SealedSecret, subscription.Id));

        // A secret sealed under a key that is neither current nor previous still does not open.
        var stranger = new WebhookSecretBox(RandomNumberGenerator.GetBytes(32)).Seal(secret, subscription.Id);
        var e = Assert.ThrowsAny<CryptographicException>(() => rotating.Open(stranger, subscription.Id));
        Assert.Contains("Webhooks:PreviousSecretKeys", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not base64!", "entry 1) is not valid base64")]
    [InlineData("AAAA", "entry 1) must decode to 32 bytes")]
    public void A_wrong_previous_key_fails_with_a_clear_message(string value, string expected)
    {
        var e = Assert.Throws<InvalidOperationException>(() => WebhookSecretBox.FromConfiguration(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), value));
        Assert.Contains("Webhooks:PreviousSecretKeys", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FeedbackHub.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("FeedbackHub.sln not found above the test folder.");
    }
}
