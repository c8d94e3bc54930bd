namespace FeedbackHub.Domain.Webhooks;

/// <summary>The closed set of webhook event types a subscription may ask for (docs/webhooks.md).</summary>
public static class WebhookEventTypes
{
    public const string FeedbackRequested = "feedback.requested";
    public const string FeedbackApproved = "feedback.approved";
    public const string DeliverySent = "delivery.sent";
    public const string DeliveryFailed = "delivery.failed";
    public const string DeliveryCancelled = "delivery.cancelled";

    /// <summary>Sent only by <c>POST /v1/webhooks/{id}/ping</c>; not something to subscribe to (so not a constant: the constants are the subscribable set).</summary>
    public static string Ping => "webhook.ping";

    public static IReadOnlyList<string> All { get; } = [FeedbackRequested, FeedbackApproved, DeliverySent, DeliveryFailed, DeliveryCancelled];

    public static bool IsKnown(string? type) => type is not null && All.Contains(type, StringComparer.Ordinal);
}
