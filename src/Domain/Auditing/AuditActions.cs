namespace FeedbackHub.Domain.Auditing;

/// <summary>
/// Audit actions of what is sent to the outside (docs/api.md lists them with the rest). Outcome events hold ids,
/// the attempt's number, codes and <c>possibleDuplicate</c>: never an address, a name or a reply's text.
/// </summary>
public static class AuditActions
{
    public const string DeliveryScheduled = "delivery.scheduled";
    public const string DeliveryRetried = "delivery.retried";
    public const string DeliverySent = "delivery.sent";
    public const string DeliveryFailed = "delivery.failed";
    public const string DeliverySuppressed = "delivery.suppressed";
    public const string DeliveryCancelled = "delivery.cancelled";

    public const string InvitationQueued = "invitation.queued";
    public const string InvitationSent = "invitation.sent";
    public const string InvitationFailed = "invitation.failed";
    public const string InvitationSuppressed = "invitation.suppressed";
    public const string InvitationCancelled = "invitation.cancelled";

    public const string TestEmailRequested = "test-email.requested";
    public const string TestEmailSent = "test-email.sent";
    public const string TestEmailFailed = "test-email.failed";

    public const string PersonInvited = "person.invited";
    public const string PersonInvitationResent = "person.invitation-resent";
    public const string PersonJoined = "person.joined";
    public const string PersonRolesChanged = "person.roles-changed";
    public const string PersonRemoved = "person.removed";
    public const string PersonPasswordResetRequested = "person.password-reset-requested";
    public const string PersonPasswordReset = "person.password-reset";
    public const string PersonPasswordChanged = "person.password-changed";
    public const string PersonTwoStepOn = "person.two-step-on";
    public const string PersonTwoStepOff = "person.two-step-off";
    public const string PersonRecoveryCodesRenewed = "person.recovery-codes-renewed";
    public const string PersonEmailSent = "person-email.sent";
    public const string PersonEmailFailed = "person-email.failed";
    public const string PersonEmailCancelled = "person-email.cancelled";

    public const string WebhookRedelivered = "webhook.redelivered";
    public const string WebhookDelivered = "webhook.delivered";
    public const string WebhookFailed = "webhook.failed";
}
