// Message contracts. MassTransit identifies a message by namespace + type name: this namespace never moves.
// Contracts carry ids only, never personal data (DESIGN.md, "Delivery pipeline").
namespace FeedbackHub.Messages;

/// <summary>
/// A message that only wakes its consumer: the row it names decides what is done (ADR 0017), so any number of them due
/// together are published as one (the outbox relay's <c>Coalesce</c>). Never put it on a message whose body matters.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class WakeUpOnlyAttribute : Attribute;

/// <summary>Send the diagnostic email with this id (proves API -> outbox -> RabbitMQ -> worker -> SMTP).</summary>
[WakeUpOnly]
public sealed record SendTestEmail(Guid TestEmailId, Guid TenantId);

/// <summary>Send the feedback email of this delivery now (it is due). Idempotent: the delivery's state decides.</summary>
[WakeUpOnly]
public sealed record DeliverFeedback(Guid DeliveryId, Guid TenantId);

/// <summary>Email the rejected candidate an invitation to ask for feedback (the worker issues the link when it sends).</summary>
[WakeUpOnly]
public sealed record SendInvitation(Guid InvitationId, Guid TenantId);

/// <summary>Send (or retry) one webhook delivery if it is pending and due. Idempotent: the delivery row decides.</summary>
[WakeUpOnly]
public sealed record DeliverWebhook(Guid WebhookDeliveryId, Guid TenantId);

/// <summary>Send the email to a person of the tenant with this id (invitation, password reset, notification).</summary>
[WakeUpOnly]
public sealed record SendPersonEmail(Guid PersonEmailId, Guid TenantId);
