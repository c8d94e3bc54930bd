// Message contracts. MassTransit identifies a message by namespace + type name: this namespace never moves.
// Contracts carry ids only, never personal data (DESIGN.md, "Delivery pipeline").
namespace FeedbackHub.Messages;

/// <summary>Send the diagnostic email with this id (proves API -> outbox -> RabbitMQ -> worker -> SMTP).</summary>
public sealed record SendTestEmail(Guid TestEmailId, Guid TenantId);

/// <summary>Send the feedback email of this delivery now (it is due). Idempotent: the delivery's state decides.</summary>
public sealed record DeliverFeedback(Guid DeliveryId, Guid TenantId);

/// <summary>Email the rejected candidate an invitation to ask for feedback (the worker issues the link when it sends).</summary>
public sealed record SendInvitation(Guid InvitationId, Guid TenantId);

/// <summary>Send (or retry) one webhook delivery if it is pending and due. Idempotent: the delivery row decides.</summary>
public sealed record DeliverWebhook(Guid WebhookDeliveryId, Guid TenantId);

/// <summary>Send the email to a person of the tenant with this id (invitation, password reset, notification).</summary>
public sealed record SendPersonEmail(Guid PersonEmailId, Guid TenantId);
