using System.Text.Json;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Domain.Tests.Webhooks;

public sealed class WebhookDeliveryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan First = TimeSpan.FromSeconds(30);

    private static WebhookEvent Event() =>
        WebhookEvent.Create(Guid.NewGuid(), WebhookEventTypes.DeliverySent, T0,
            new WebhookEventData(Guid.NewGuid(), "app-1", Guid.NewGuid(), "cand-1", DeliveryId: Guid.NewGuid(), Status: "sent"));

    [Fact]
    public void The_body_holds_the_event_id_type_time_and_ids_only()
    {
        var e = Event();
        using var json = JsonDocument.Parse(e.Body);
        var root = json.RootElement;
        Assert.Equal(e.Id, root.GetProperty("id").GetGuid());
        Assert.Equal("delivery.sent", root.GetProperty("type").GetString());
        Assert.Equal("2026-11-01T12:00:00Z", root.GetProperty("occurredAt").GetString());
        var data = root.GetProperty("data");
        Assert.Equal("app-1", data.GetProperty("applicationExternalId").GetString());
        Assert.Equal("sent", data.GetProperty("status").GetString());
        Assert.False(data.TryGetProperty("reason", out _)); // nulls are left out
        Assert.False(data.TryGetProperty("requestId", out _));
    }

    [Fact]
    public void Backoff_doubles_from_the_first_delay_and_stops_at_one_hour()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), WebhookDelivery.Backoff(1, First));
        Assert.Equal(TimeSpan.FromSeconds(60), WebhookDelivery.Backoff(2, First));
        Assert.Equal(TimeSpan.FromMinutes(32), WebhookDelivery.Backoff(7, First));
        Assert.Equal(TimeSpan.FromHours(1), WebhookDelivery.Backoff(8, First));
        Assert.Equal(TimeSpan.FromHours(1), WebhookDelivery.Backoff(100, First));
    }

    private static readonly RetryPolicy Policy = new(3, First, WebhookDelivery.MaxBackoff, WebhookDelivery.MaxBackoff);

    private static AttemptAnswer Answer(string outcome, int? status = null, string? error = null, string? excerpt = null) =>
        WebhookDelivery.Answer(new WebhookSendResult(outcome, status, 12, error, excerpt));

    [Fact]
    public void Failures_are_retried_with_growing_delays_until_the_budget_is_spent()
    {
        var d = WebhookDelivery.Create(Event(), Guid.NewGuid(), T0);
        var guard = new OutboundGuard(d.Id, null);
        Assert.True(d.IsDue(T0, TimeSpan.Zero));
        Assert.Equal(1, d.TryClaim(guard, T0, TimeSpan.FromSeconds(10)));
        Assert.Equal(T0 + First, d.RecordAnswer(guard, Answer(WebhookAttemptOutcomes.HttpError, 500, "HTTP 500", "oops"), Policy, T0));
        Assert.False(d.IsDue(T0 + TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1)));
        d.TryClaim(guard, T0, TimeSpan.FromSeconds(10));
        Assert.Equal(T0 + (First * 2), d.RecordAnswer(guard, Answer(WebhookAttemptOutcomes.Timeout, error: "timeout"), Policy, T0));
        Assert.Equal(3, d.TryClaim(guard, T0, TimeSpan.FromSeconds(10)));
        Assert.Null(d.RecordAnswer(guard, Answer(WebhookAttemptOutcomes.NetworkError, error: "refused"), Policy, T0));
        Assert.Equal(WebhookDeliveryStatus.Failed, PublicStatuses.OfWebhook(d.Status));
        Assert.False(d.IsDue(T0.AddDays(1), TimeSpan.Zero));
        Assert.Equal(["http-error", "timeout", "network-error"], d.Attempts.Select(WebhookDelivery.OutcomeName));
        Assert.Equal([500, null, null], d.Attempts.Select(a => a.Code));
    }

    [Fact]
    public void A_refused_address_fails_at_once_and_a_redelivery_starts_a_fresh_budget_with_the_same_event()
    {
        var e = Event();
        var d = WebhookDelivery.Create(e, Guid.NewGuid(), T0);
        var guard = new OutboundGuard(d.Id, null);
        d.TryClaim(guard, T0, TimeSpan.FromSeconds(10));
        Assert.Null(d.RecordAnswer(guard, Answer(WebhookAttemptOutcomes.RefusedAddress, error: "refused"), Policy, T0));
        Assert.Equal(OutboundStatus.Failed, d.Status);

        d.Redeliver(guard, T0.AddMinutes(5));
        Assert.Equal(WebhookDeliveryStatus.Pending, PublicStatuses.OfWebhook(d.Status));
        Assert.Equal(0, d.Attempts.Count(a => a.CountsAgainstBudget));
        Assert.Single(d.Attempts);
        Assert.Equal(e.Id, d.EventId);
        Assert.Equal(2, d.TryClaim(guard, T0.AddMinutes(5), TimeSpan.FromSeconds(10)));

        // While an attempt runs, a redelivery is refused rather than waiting for it.
        Assert.Equal("webhook-send-in-progress", Assert.Throws<DomainException>(() => d.Redeliver(guard, T0.AddMinutes(5))).Code);
        d.RecordAnswer(guard, Answer(WebhookAttemptOutcomes.Delivered, 204), Policy, T0);
        Assert.Equal(WebhookDeliveryStatus.Delivered, PublicStatuses.OfWebhook(d.Status));
    }

    [Fact]
    public void The_attempt_keeps_at_most_256_characters_of_the_answer()
    {
        var d = WebhookDelivery.Create(Event(), Guid.NewGuid(), T0);
        var guard = new OutboundGuard(d.Id, null);
        d.TryClaim(guard, T0, TimeSpan.FromSeconds(10));
        d.RecordAnswer(guard, Answer(WebhookAttemptOutcomes.HttpError, 500, new string('e', 2000), new string('x', 1000)), Policy, T0);
        var a = Assert.Single(d.Attempts);
        Assert.Equal(256, a.ResponseExcerpt!.Length);
        Assert.Equal(1000, a.Reply!.Length);
    }

    [Fact]
    public void Subscriptions_accept_only_known_event_types_and_name_the_bad_index()
    {
        var box = new WebhookSecretBox(new byte[32]);
        var e = Assert.Throws<DomainException>(() =>
            WebhookSubscription.Create(Guid.NewGuid(), new Uri("https://ats.example.com/h"), ["delivery.sent", "delivery.exploded"], null, box, T0));
        Assert.True(e.Errors!.ContainsKey("events[1]"));
        e = Assert.Throws<DomainException>(() => WebhookSubscription.Create(Guid.NewGuid(), new Uri("https://ats.example.com/h"), [], new string('d', 201), box, T0));
        Assert.True(e.Errors!.ContainsKey("events"));
        Assert.True(e.Errors!.ContainsKey("description"));
    }

    [Theory]
    [InlineData("http://ats.example.com/h", false)]
    [InlineData("ftp://ats.example.com/h", true)]
    [InlineData("https://user:pw@ats.example.com/h", false)]
    [InlineData("https://ats.example.com/h#frag", false)]
    [InlineData("/relative/path", false)]
    [InlineData("", false)]
    public void Bad_urls_are_refused_with_an_error_on_url(string url, bool allowPrivate)
    {
        var e = Assert.Throws<DomainException>(() => WebhookTargets.ParseUrl(url, allowPrivate));
        Assert.True(e.Errors!.ContainsKey("url"));
    }

    [Fact]
    public void Urls_are_limited_to_2000_characters_and_http_needs_the_development_setting()
    {
        Assert.Throws<DomainException>(() => WebhookTargets.ParseUrl("https://ats.example.com/" + new string('a', 2000), false));
        Assert.Equal("http", WebhookTargets.ParseUrl("http://127.0.0.1:8080/h", allowPrivate: true).Scheme);
        Assert.Equal("https", WebhookTargets.ParseUrl("https://ats.example.com/h?x=1", allowPrivate: false).Scheme);
    }
}
