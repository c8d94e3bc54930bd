using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Domain.Outbound;

/// <summary>
/// The one place where the shared <see cref="OutboundStatus"/> becomes each resource's public status and back:
/// deliveries say it as it is; webhook deliveries say pending / delivered / failed; invitations queued / sent / failed /
/// cancelled; test emails queued / sent / failed.
/// </summary>
public static class PublicStatuses
{
    public static DeliveryStatus OfDelivery(OutboundStatus status) => status switch
    {
        OutboundStatus.Scheduled => DeliveryStatus.Scheduled,
        OutboundStatus.Sending => DeliveryStatus.Sending,
        OutboundStatus.Sent => DeliveryStatus.Sent,
        OutboundStatus.Failed => DeliveryStatus.Failed,
        _ => DeliveryStatus.Cancelled,
    };

    public static OutboundStatus FromDelivery(DeliveryStatus status) => status switch
    {
        DeliveryStatus.Scheduled => OutboundStatus.Scheduled,
        DeliveryStatus.Sending => OutboundStatus.Sending,
        DeliveryStatus.Sent => OutboundStatus.Sent,
        DeliveryStatus.Failed => OutboundStatus.Failed,
        _ => OutboundStatus.Cancelled,
    };

    public static WebhookDeliveryStatus OfWebhook(OutboundStatus status) => status switch
    {
        OutboundStatus.Scheduled or OutboundStatus.Sending => WebhookDeliveryStatus.Pending,
        OutboundStatus.Sent => WebhookDeliveryStatus.Delivered,
        _ => WebhookDeliveryStatus.Failed,
    };

    /// <summary>The shared statuses a public webhook delivery status covers (a filter).</summary>
    public static OutboundStatus[] FromWebhook(WebhookDeliveryStatus status) => status switch
    {
        WebhookDeliveryStatus.Pending => [OutboundStatus.Scheduled, OutboundStatus.Sending],
        WebhookDeliveryStatus.Delivered => [OutboundStatus.Sent],
        _ => [OutboundStatus.Failed, OutboundStatus.Cancelled],
    };

    public static InvitationStatus OfInvitation(OutboundStatus status) => status switch
    {
        OutboundStatus.Scheduled or OutboundStatus.Sending => InvitationStatus.Queued,
        OutboundStatus.Sent => InvitationStatus.Sent,
        OutboundStatus.Failed => InvitationStatus.Failed,
        _ => InvitationStatus.Cancelled,
    };

    public static TestEmailStatus OfTestEmail(OutboundStatus status) => status switch
    {
        OutboundStatus.Scheduled or OutboundStatus.Sending => TestEmailStatus.Queued,
        OutboundStatus.Sent => TestEmailStatus.Sent,
        _ => TestEmailStatus.Failed,
    };
}
