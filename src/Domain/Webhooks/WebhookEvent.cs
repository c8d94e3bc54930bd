using System.Text.Json;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>
/// Something that happened, as sent to subscribers. <see cref="Id"/> is the stable event id (the same on every
/// attempt and every redelivery: receivers deduplicate on it). <see cref="Body"/> is the exact JSON text that is
/// signed and sent; it carries ids only, never personal data.
/// </summary>
public sealed class WebhookEvent
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private WebhookEvent()
    {
        Type = string.Empty;
        Body = "{}";
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public string Type { get; private set; }

    public DateTimeOffset OccurredAt { get; private set; }

    public string Body { get; private set; }

    /// <summary>The application the event is about (its body names it too), so an application's events are found by index.</summary>
    public Guid ApplicationId { get; private set; }

    public static WebhookEvent Create(Guid tenantId, string type, DateTimeOffset occurredAt, WebhookEventData data)
    {
        if (!WebhookEventTypes.IsKnown(type))
            throw new ArgumentException($"Unknown webhook event type {type}.", nameof(type));
        var id = Guid.CreateVersion7(occurredAt);
        // Microsecond precision, as PostgreSQL keeps it, so the body and the row agree.
        var at = new DateTimeOffset(occurredAt.UtcTicks - (occurredAt.UtcTicks % 10), TimeSpan.Zero);
        var body = JsonSerializer.Serialize(new Envelope<WebhookEventData>(id, type, at.UtcDateTime, data), Json);
        return new WebhookEvent { Id = id, TenantId = tenantId, Type = type, OccurredAt = at, Body = body, ApplicationId = data.ApplicationId };
    }

    /// <summary>
    /// A <c>webhook.ping</c> (<see cref="WebhookEventTypes.Ping"/>) for one subscription: same envelope and signature as
    /// real events, <c>data</c> names the subscription; it is sent once and never stored.
    /// </summary>
    public static (Guid Id, string Body) Ping(Guid subscriptionId, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        var at = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % 10), TimeSpan.Zero);
        return (id, JsonSerializer.Serialize(new Envelope<PingData>(id, WebhookEventTypes.Ping, at.UtcDateTime, new PingData(subscriptionId)), Json));
    }

    private sealed record Envelope<T>(Guid Id, string Type, DateTime OccurredAt, T Data);

    private sealed record PingData(Guid SubscriptionId);
}

/// <summary>
/// The <c>data</c> of an event: the application and candidate (FeedbackHub ids and the ATS's external ids) and, per
/// type, the request, feedback or delivery. Null members are left out of the JSON.
/// </summary>
public sealed record WebhookEventData(
    Guid ApplicationId,
    string? ApplicationExternalId,
    Guid? CandidateId,
    string? CandidateExternalId,
    Guid? RequestId = null,
    Guid? FeedbackId = null,
    Guid? DeliveryId = null,
    string? Status = null,
    string? Reason = null);
