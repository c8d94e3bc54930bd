using FeedbackHub.Domain.Model;
using Microsoft.AspNetCore.Identity;

namespace FeedbackHub.Domain.People;

/// <summary>What a person is emailed about; each can be turned off by the person.</summary>
public enum PersonNotification
{
    /// <summary>A reviewer asked for changes to feedback the person wrote.</summary>
    ChangesRequested,

    /// <summary>Submitted feedback waits for approval (recruiters).</summary>
    AwaitingApproval,

    /// <summary>A candidate asked for feedback (the feedback's author and recruiters).</summary>
    CandidateAsked,
}

/// <summary>Where a person's account stands.</summary>
public enum PersonStatus
{
    /// <summary>Invited; has not chosen a password yet.</summary>
    Invited,

    /// <summary>Can sign in.</summary>
    Active,

    /// <summary>Locked for a while after repeated failed sign-ins.</summary>
    LockedOut,

    /// <summary>Removed by an admin: cannot sign in.</summary>
    Removed,
}

/// <summary>
/// Someone who signs in to the web app: an HR rep, a hiring manager, a lawyer or an admin of one tenant. Identity keeps
/// the credentials (password hash, security stamp, lockout, passkeys); this class adds the tenant, the display name,
/// the roles and the notification choices. Actions carry the person's id, so four-eyes holds per person whichever
/// session or personal API key they use. Email addresses are unique across tenants: signing in names no tenant.
/// </summary>
public sealed class Person : IdentityUser<Guid>
{
    private Person()
    {
        DisplayName = string.Empty;
        Roles = [];
        CreatedBy = string.Empty;
        MutedNotifications = [];
    }

    public Guid TenantId { get; private set; }

    public string DisplayName { get; private set; }

    public string[] Roles { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public string CreatedBy { get; private set; }

    /// <summary>Set when an admin removed the person: they cannot sign in and lose every session on the next request.</summary>
    public DateTimeOffset? RemovedAt { get; private set; }

    /// <summary>The notifications the person turned off (stored by name).</summary>
    public List<string> MutedNotifications { get; private set; }

    public bool IsActive => RemovedAt is null;

    /// <summary>Whether the person has chosen a password (an invited person has not, until they follow the link).</summary>
    public bool HasJoined => PasswordHash is not null;

    public PersonStatus StatusAt(DateTimeOffset now) =>
        !IsActive ? PersonStatus.Removed
        : !HasJoined ? PersonStatus.Invited
        : LockoutEnd > now ? PersonStatus.LockedOut
        : PersonStatus.Active;

    public bool Wants(PersonNotification kind) => IsActive && !MutedNotifications.Contains(kind.ToString());

    public static Person Invite(Guid tenantId, string email, string displayName, IEnumerable<string>? roles, string createdBy, DateTimeOffset now)
    {
        email = (email ?? string.Empty).Trim();
        displayName = (displayName ?? string.Empty).Trim();
        var errors = new Dictionary<string, string[]>();
        if (!EmailAddress.IsValid(email))
            errors["email"] = ["Must be a valid email address."];
        if (displayName.Length is 0 or > 100 || !TextInput.IsValid(displayName, TextKind.SingleLine))
            errors["displayName"] = ["Must have 1 to 100 characters on one line, without control or invisible formatting characters."];
        var roleList = Model.Roles.Validate(roles, Model.Roles.ForPeople, errors);
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The invitation is not valid.") { Errors = errors };

        return new Person
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            Email = email,
            UserName = email,
            DisplayName = displayName,
            Roles = roleList,
            CreatedAt = now,
            CreatedBy = createdBy,
            SecurityStamp = Guid.NewGuid().ToString("N"),
            LockoutEnabled = true,
        };
    }

    public void ChangeRoles(IEnumerable<string>? roles)
    {
        var errors = new Dictionary<string, string[]>();
        var roleList = Model.Roles.Validate(roles, Model.Roles.ForPeople, errors);
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The roles are not valid.") { Errors = errors };
        Roles = roleList;
    }

    /// <summary>Removes the person: no sign-in, and every session ends on its next request (the caller renews the security stamp).</summary>
    public void Remove(DateTimeOffset now) => RemovedAt ??= now;

    public void SetNotifications(IEnumerable<PersonNotification> wanted)
    {
        var on = wanted.ToHashSet();
        MutedNotifications = Enum.GetValues<PersonNotification>().Where(k => !on.Contains(k)).Select(k => k.ToString()).ToList();
    }
}
