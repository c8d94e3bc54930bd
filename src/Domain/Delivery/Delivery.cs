using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.Delivery;

/// <summary>A feedback delivery's status as the API names it (the shared <see cref="OutboundStatus"/>, one to one).</summary>
public enum DeliveryStatus
{
    Scheduled,
    Sending,
    Sent,
    Failed,
    Cancelled,
}

/// <summary>
/// Sending one approved feedback to the candidate who asked for it: the outbound shape (<see cref="OutboundItem"/>) plus
/// what it is about. Every change takes the application's lock (<see cref="LockedApplication"/>), the one approval,
/// request, reopening, erasure and the worker take, so a reopened application never gets its feedback.
/// </summary>
public sealed class Delivery : OutboundItem
{
    private Delivery()
    {
        MessageId = string.Empty;
    }

    private Delivery(Guid id, Guid tenantId, DateTimeOffset dueAt, DateTimeOffset now)
        : base(id, tenantId, OutboundChannels.FeedbackEmail, dueAt, now)
    {
        MessageId = string.Empty;
    }

    public Guid ApplicationId { get; private set; }

    public Guid FeedbackId { get; private set; }

    public Guid RequestId { get; private set; }

    /// <summary>Deterministic Message-ID (the same on every attempt, so receivers can deduplicate).</summary>
    public string MessageId { get; private set; }

    public override Guid? GuardingApplicationId => ApplicationId;

    protected override string NotScheduledCode => "delivery-not-scheduled";

    protected override string Noun => "delivery";

    public static Delivery Schedule(
        LockedApplication application, Guid tenantId, Guid feedbackId, Guid requestId, DateTimeOffset dueAt, string messageIdDomain, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(application);
        var id = Guid.CreateVersion7(now);
        return new Delivery(id, tenantId, dueAt, now)
        {
            ApplicationId = application.ApplicationId,
            FeedbackId = feedbackId,
            RequestId = requestId,
            MessageId = $"feedback.{id:N}@{messageIdDomain}",
        };
    }

    /// <summary>The earliest send time: the later of now and the rejection plus the cooling-off delay.</summary>
    public static DateTimeOffset DueTime(DateTimeOffset rejectedAt, TimeSpan coolingOff, DateTimeOffset now) =>
        rejectedAt + coolingOff > now ? rejectedAt + coolingOff : now;

    /// <summary>Cancels a scheduled delivery (409 <c>delivery-not-scheduled</c> otherwise).</summary>
    public void Cancel(LockedApplication application, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(application);
        application.Check(ApplicationId);
        CancelScheduled(now);
    }

    /// <summary>A failed delivery is scheduled again at once (the attempt budget starts over).</summary>
    public void Retry(LockedApplication application, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(application);
        application.Check(ApplicationId);
        if (Status != OutboundStatus.Failed)
            throw DomainException.Conflict("delivery-not-failed", $"Only a failed delivery can be retried; this one is {Status}.");
        ScheduleAgain(now);
    }
}
