namespace FeedbackHub.Api.Features.Webhooks;

/// <summary>The <c>Webhooks</c> configuration section, the API's part (the worker reads its own; both read <c>Webhooks:SecretKey</c>).</summary>
public sealed class WebhookApiOptions
{
    /// <summary>After <c>rotate-secret</c>, how long the replaced secret keeps signing beside the new one (0: not at all).</summary>
    public TimeSpan SecretOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long <c>POST /v1/webhooks/{id}/ping</c> waits for the receiver, as the worker does for real events.</summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
