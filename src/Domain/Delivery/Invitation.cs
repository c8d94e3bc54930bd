using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.Delivery;

/// <summary>An invitation's status as the API names it.</summary>
public enum InvitationStatus
{
    Queued,
    Sent,
    Failed,
    Cancelled,
}

/// <summary>
/// The short email FeedbackHub sends a rejected candidate itself when the tenant enables invitations, in the outbound
/// shape. The worker issues the candidate's link when it sends (the token exists only in the email, never in a message
/// or a row). Guarded by the application's lock, like the feedback delivery.
/// </summary>
public sealed class Invitation : OutboundItem
{
    private Invitation()
    {
    }

    private Invitation(Guid id, Guid tenantId, DateTimeOffset now)
        : base(id, tenantId, OutboundChannels.Invitation, now, now)
    {
    }

    public Guid ApplicationId { get; private set; }

    public override Guid? GuardingApplicationId => ApplicationId;

    protected override string Noun => "invitation";

    public static Invitation Queue(LockedApplication application, Guid tenantId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(application);
        return new Invitation(Guid.CreateVersion7(now), tenantId, now) { ApplicationId = application.ApplicationId };
    }

    /// <summary>A queued invitation is not sent any more (reopened application, erased candidate); others stay as they are.</summary>
    public void Cancel(LockedApplication application, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(application);
        application.Check(ApplicationId);
        if (Status == OutboundStatus.Scheduled)
            CancelScheduled(now);
    }
}
