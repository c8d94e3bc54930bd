using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.People;

/// <summary>
/// The people of a tenant: invite, change roles, remove, and the account emails (invitation, password reset). Used by
/// the API (<c>/v1/people</c>) and the web app alike. Every lookup is by tenant: another tenant's person is not found.
/// Identity's <see cref="UserManager{TUser}"/> saves the unit of work, so the audit event and the outbox message go in
/// the same transaction as the change.
/// </summary>
public sealed class PeopleDirectory(FeedbackHubDbContext db, UserManager<Person> users, AuditLog audit, TimeProvider time)
{
    public Task<List<Person>> ListAsync(Guid tenantId, CancellationToken ct) =>
        db.People.AsNoTracking().Where(p => p.TenantId == tenantId).OrderBy(p => p.DisplayName).ThenBy(p => p.Id).ToListAsync(ct);

    public async Task<Person> GetAsync(Guid tenantId, Guid id, CancellationToken ct) =>
        await db.People.SingleOrDefaultAsync(p => p.Id == id && p.TenantId == tenantId, ct)
        ?? throw DomainException.NotFound("The person");

    public async Task<Person> InviteAsync(Guid tenantId, Actor by, string email, string displayName, IEnumerable<string>? roles, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var person = Person.Invite(tenantId, email, displayName, roles, by.Name, now);
        QueueEmail(db, person, PersonEmailKind.Invitation, null, now);
        audit.Record(tenantId, by, AuditActions.PersonInvited, "person", person.Id, new { roles = person.Roles });
        await SaveAsync(() => users.CreateAsync(person));
        return person;
    }

    public async Task<Person> ResendInvitationAsync(Guid tenantId, Actor by, Guid id, CancellationToken ct)
    {
        var person = await GetAsync(tenantId, id, ct);
        if (!person.IsActive)
            throw DomainException.Conflict("person-removed", "This person was removed; invite them again with a new account.");
        if (person.HasJoined)
            throw DomainException.Conflict("already-joined", "This person has already chosen a password; they can use \"Forgot your password?\" on the sign-in page.");
        QueueEmail(db, person, PersonEmailKind.Invitation, null, time.GetUtcNow());
        audit.Record(tenantId, by, AuditActions.PersonInvitationResent, "person", person.Id);
        await db.SaveChangesAsync(ct);
        return person;
    }

    public async Task<Person> ChangeRolesAsync(Guid tenantId, Actor by, Guid id, IEnumerable<string>? roles, CancellationToken ct)
    {
        var person = await GetAsync(tenantId, id, ct);
        if (!person.IsActive)
            throw DomainException.Conflict("person-removed", "This person was removed.");
        if (by.Id == person.Id)
            throw DomainException.Conflict("own-account", "You cannot change your own roles; ask another admin.");
        person.ChangeRoles(roles);
        // A personal key never holds more than its person: keys with a role the person lost are revoked.
        var now = time.GetUtcNow();
        var keys = await ActiveKeysOfAsync(person, ct);
        var revoked = keys.Where(k => k.Roles.Except(person.Roles).Any()).ToList();
        foreach (var key in revoked)
            key.Revoke(now);
        audit.Record(tenantId, by, AuditActions.PersonRolesChanged, "person", person.Id, new { roles = person.Roles, revokedKeys = revoked.Count });
        // A new security stamp ends the person's sessions' old roles on their next request.
        await SaveAsync(() => users.UpdateSecurityStampAsync(person));
        return person;
    }

    /// <summary>Removes a person: no sign-in, sessions end on their next request, their personal API keys are revoked.</summary>
    public async Task<Person> RemoveAsync(Guid tenantId, Actor by, Guid id, CancellationToken ct)
    {
        var person = await GetAsync(tenantId, id, ct);
        if (by.Id == person.Id)
            throw DomainException.Conflict("own-account", "You cannot remove yourself; ask another admin.");
        if (!person.IsActive)
            return person;
        var now = time.GetUtcNow();
        person.Remove(now);
        var keys = await ActiveKeysOfAsync(person, ct);
        foreach (var key in keys)
            key.Revoke(now);
        audit.Record(tenantId, by, AuditActions.PersonRemoved, "person", person.Id, new { revokedKeys = keys.Count });
        await SaveAsync(() => users.UpdateSecurityStampAsync(person));
        return person;
    }

    /// <summary>
    /// "Forgot your password?": emails a reset link to an active person who has joined, the invitation again to one who
    /// has not, and nothing at all for an unknown address. The caller answers the same in every case.
    /// </summary>
    public async Task RequestPasswordResetAsync(string email, CancellationToken ct)
    {
        var person = await users.FindByEmailAsync((email ?? string.Empty).Trim());
        if (person is null || !person.IsActive)
            return;
        var kind = person.HasJoined ? PersonEmailKind.PasswordReset : PersonEmailKind.Invitation;
        QueueEmail(db, person, kind, null, time.GetUtcNow());
        audit.Record(person.TenantId, Actor.System, AuditActions.PersonPasswordResetRequested, "person", person.Id);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// Sets the password of the person an invitation or reset link was issued for. A wrong, used or expired token, a
    /// removed person, or a password Identity refuses answer failure with Identity's errors.
    /// </summary>
    public async Task<(Person? Person, IdentityResult Result)> SetPasswordAsync(Guid personId, string token, string password, CancellationToken ct)
    {
        var person = await db.People.SingleOrDefaultAsync(p => p.Id == personId, ct);
        if (person is null || !person.IsActive)
            return (null, IdentityResult.Failed(new IdentityErrorDescriber().InvalidToken()));
        var joining = !person.HasJoined;
        audit.Record(person.TenantId, new Actor(person.Id, person.DisplayName), joining ? AuditActions.PersonJoined : AuditActions.PersonPasswordReset, "person", person.Id);
        person.EmailConfirmed = true; // the link arrived at the address
        var result = await users.ResetPasswordAsync(person, token, password);
        if (!result.Succeeded)
        {
            db.DiscardPendingChanges();
            return (null, result);
        }

        // Proving the address ends a lockout: the person chose a new password.
        await users.ResetAccessFailedCountAsync(person);
        await users.SetLockoutEndDateAsync(person, null);
        return (person, result);
    }

    /// <summary>The person's personal API keys that still work (every tenant scope: the person names the tenant).</summary>
    private Task<List<Model.ApiKey>> ActiveKeysOfAsync(Person person, CancellationToken ct) =>
        db.ApiKeys.IgnoreQueryFilters().Where(k => k.OwnerId == person.Id && k.RevokedAt == null).ToListAsync(ct);

    /// <summary>
    /// Queues an email to a person (sent by the worker through the outbox), in the unit of work of <paramref name="db"/>.
    /// Static, so <see cref="PersonNotifications"/> (on the feedback paths) does not build Identity's user manager.
    /// </summary>
    public static void QueueEmail(FeedbackHubDbContext db, Person person, PersonEmailKind kind, Guid? applicationId, DateTimeOffset now)
    {
        var email = PersonEmail.Queue(person, kind, applicationId, now);
        db.PersonEmails.Add(email);
        db.OutboxMessages.Add(OutboxMessage.Create(new SendPersonEmail(email.Id, person.TenantId), person.TenantId, now));
    }

    /// <summary>Runs an Identity operation that saves the unit of work; its refusals become a problem, and nothing is saved.</summary>
    private async Task SaveAsync(Func<Task<IdentityResult>> operation)
    {
        var result = await operation();
        if (result.Succeeded)
            return;
        db.DiscardPendingChanges();
        if (result.Errors.Any(e => e.Code is nameof(IdentityErrorDescriber.DuplicateEmail) or nameof(IdentityErrorDescriber.DuplicateUserName)))
            throw DomainException.Conflict("email-taken", "A person with this email address already has an account.");
        throw new DomainException(DomainErrorKind.Invalid, "validation", "The person is not valid.")
        {
            Errors = new Dictionary<string, string[]> { ["person"] = result.Errors.Select(e => e.Description).ToArray() },
        };
    }
}
