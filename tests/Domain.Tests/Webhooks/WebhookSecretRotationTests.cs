using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Domain.Tests.Webhooks;

public sealed class WebhookSecretRotationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_replaced_secret_signs_beside_the_new_one_until_the_overlap_ends()
    {
        var box = new WebhookSecretBox(new byte[32]);
        var (subscription, old) = WebhookSubscription.Create(Guid.NewGuid(), new Uri("https://ats.example.com/h"), ["delivery.sent"], null, box, T0);
        var fresh = subscription.RotateSecret(box, T0, TimeSpan.FromHours(1));

        Assert.Equal([fresh, old], subscription.SigningSecrets(box, T0.AddMinutes(59)));
        Assert.Equal([fresh], subscription.SigningSecrets(box, T0.AddHours(1)));
        Assert.Equal(T0.AddHours(1), subscription.PreviousSecretExpiresAt);
    }

    [Fact]
    public void A_zero_overlap_drops_the_replaced_secret_at_once()
    {
        var box = new WebhookSecretBox(new byte[32]);
        var (subscription, _) = WebhookSubscription.Create(Guid.NewGuid(), new Uri("https://ats.example.com/h"), ["delivery.sent"], null, box, T0);
        var fresh = subscription.RotateSecret(box, T0, TimeSpan.Zero);
        Assert.Equal([fresh], subscription.SigningSecrets(box, T0));
        Assert.Null(subscription.PreviousSealedSecret);
    }

    [Fact]
    public void Rotating_again_replaces_the_previous_secret_with_the_current_one()
    {
        var box = new WebhookSecretBox(new byte[32]);
        var (subscription, _) = WebhookSubscription.Create(Guid.NewGuid(), new Uri("https://ats.example.com/h"), ["delivery.sent"], null, box, T0);
        var second = subscription.RotateSecret(box, T0, TimeSpan.FromHours(1));
        var third = subscription.RotateSecret(box, T0.AddMinutes(1), TimeSpan.FromHours(1));
        Assert.Equal([third, second], subscription.SigningSecrets(box, T0.AddMinutes(2)));
    }

    [Fact]
    public void The_header_carries_one_v1_per_secret_current_first()
    {
        var header = WebhookSignature.HeaderValue(["whsec_new", "whsec_old"], 1767225600, "{}");
        Assert.Equal(
            $"t=1767225600,v1={WebhookSignature.Compute("whsec_new", 1767225600, "{}")},v1={WebhookSignature.Compute("whsec_old", 1767225600, "{}")}",
            header);
    }
}
