using FeedbackHub.Domain.Outbound;

namespace FeedbackHub.Domain.People;

/// <summary>Why FeedbackHub emails a person.</summary>
public enum PersonEmailKind
{
    /// <summary>An admin invited them: the link lets them choose a password.</summary>
    Invitation,

    /// <summary>They forgot their password: the link lets them choose a new one.</summary>
    PasswordReset,

    /// <summary>A reviewer asked for changes to their feedback.</summary>
    ChangesRequested,

    /// <summary>Feedback waits for their approval.</summary>
    AwaitingApproval,

    /// <summary>A candidate asked for feedback on an application they work on.</summary>
    CandidateAsked,
}

/// <summary>
/// An email to a person of the tenant, in the outbound shape. The address is read from the person when the worker sends
/// (nothing copied), and an invitation's or reset's link token is issued by the worker then: it exists only in the email.
/// </summary>
public sealed class PersonEmail : OutboundItem
{
    private PersonEmail()
    {
    }

    private PersonEmail(Guid id, Guid tenantId, DateTimeOffset now)
        : base(id, tenantId, OutboundChannels.PersonEmail, now, now)
    {
    }

    public Guid PersonId { get; private set; }

    public PersonEmailKind Kind { get; private set; }

    /// <summary>
    /// The application the email is about (notifications), for its link. Not named <c>ApplicationId</c>: that name
    /// would make the outbound core guard the email by the application's lock (<see cref="Persistence.OutboundLocks"/>).
    /// </summary>
    public Guid? AboutApplicationId { get; private set; }

    protected override string Noun => "email";

    public static PersonEmail Queue(Person person, PersonEmailKind kind, Guid? applicationId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(person);
        return new PersonEmail(Guid.CreateVersion7(now), person.TenantId, now)
        {
            PersonId = person.Id,
            Kind = kind,
            AboutApplicationId = applicationId,
        };
    }

    /// <summary>The notification a person can turn off that this email is, or null for account emails (always sent).</summary>
    public static PersonNotification? NotificationOf(PersonEmailKind kind) => kind switch
    {
        PersonEmailKind.ChangesRequested => PersonNotification.ChangesRequested,
        PersonEmailKind.AwaitingApproval => PersonNotification.AwaitingApproval,
        PersonEmailKind.CandidateAsked => PersonNotification.CandidateAsked,
        _ => null,
    };
}
