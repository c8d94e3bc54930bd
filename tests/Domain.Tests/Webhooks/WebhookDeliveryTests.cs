using System.Text.Json;
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

    [Fact]
    public void Failures_are_retried_with_growing_delays_until_the_budget_is_spent()
    {
        var d = WebhookDelivery.Create(Event(), Guid.NewGuid(), T0);
        Assert.True(d.IsDue(T0, TimeSpan.Zero));
        var (a1, r1) = d.RecordAttempt(WebhookAttemptOutcomes.HttpError, 500, 12, "HTTP 500", "oops", T0, T0, 3, First);
        Assert.Equal(1, a1.Number);
        Assert.Equal(T0 + First, r1);
        Assert.False(d.IsDue(T0 + TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1)));
        var (_, r2) = d.RecordAttempt(WebhookAttemptOutcomes.Timeout, null, 10000, "timeout", null, T0, T0, 3, First);
        Assert.Equal(T0 + (First * 2), r2);
        var (a3, r3) = d.RecordAttempt(WebhookAttemptOutcomes.NetworkError, null, 1, "refused", null, T0, T0, 3, First);
        Assert.Null(r3);
        Assert.Equal(3, a3.Number);
        Assert.Equal(WebhookDeliveryStatus.Failed, d.Status);
        Assert.False(d.IsDue(T0.AddDays(1), TimeSpan.Zero));
    }

    [Fact]
    public void A_refused_address_fails_at_once_and_a_redelivery_starts_a_fresh_budget_with_the_same_event()
    {
        var e = Event();
        var d = WebhookDelivery.Create(e, Guid.NewGuid(), T0);
        var (_, retry) = d.RecordAttempt(WebhookAttemptOutcomes.RefusedAddress, null, 1, "refused", null, T0, T0, 8, First);
        Assert.Null(retry);
        Assert.Equal(WebhookDeliveryStatus.Failed, d.Status);

        d.Redeliver(T0.AddMinutes(5));
        Assert.Equal(WebhookDeliveryStatus.Pending, d.Status);
        Assert.Equal(0, d.AttemptsSinceRedeliver);
        Assert.Equal(1, d.Attempts);
        Assert.Equal(e.Id, d.EventId);
        var (a, _) = d.RecordAttempt(WebhookAttemptOutcomes.Delivered, 204, 3, null, null, T0, T0, 8, First);
        Assert.Equal(2, a.Number);
        Assert.Equal(WebhookDeliveryStatus.Delivered, d.Status);
    }

    [Fact]
    public void The_attempt_keeps_at_most_256_characters_of_the_answer()
    {
        var d = WebhookDelivery.Create(Event(), Guid.NewGuid(), T0);
        var (a, _) = d.RecordAttempt(WebhookAttemptOutcomes.HttpError, 500, 1, new string('e', 1000), new string('x', 1000), T0, T0, 8, First);
        Assert.Equal(256, a.ResponseExcerpt!.Length);
        Assert.Equal(WebhookAttempt.MaxErrorLength, a.Error!.Length);
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
