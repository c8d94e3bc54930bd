using System.Text;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Identity;

namespace FeedbackHub.Domain.People;

/// <summary>What a person needs to add FeedbackHub to an authenticator app: the key to type and the <c>otpauth://</c> link a QR code carries.</summary>
public sealed record AuthenticatorSetup(string Key, string Uri);

/// <summary>
/// A person's sign-in security: their password, and two-step sign-in with an authenticator app (TOTP, RFC 6238) and
/// one-time recovery codes, with an admin's way out for someone who lost both. Each change renews the security stamp
/// (the person's other sessions end on their next request; the caller refreshes the current one) and is audited.
/// </summary>
public sealed class PersonSecurity(FeedbackHubDbContext db, UserManager<Person> users, PeopleDirectory people, AuditLog audit)
{
    public const string Issuer = "FeedbackHub";

    public const int RecoveryCodeCount = 10;

    /// <summary>The key to add to an authenticator app, made on first use and kept until two-step sign-in is on (shown again on reload).</summary>
    public async Task<AuthenticatorSetup> AuthenticatorSetupAsync(Person person)
    {
        var key = await users.GetAuthenticatorKeyAsync(person);
        if (string.IsNullOrEmpty(key))
        {
            Check(await users.ResetAuthenticatorKeyAsync(person));
            key = await users.GetAuthenticatorKeyAsync(person) ?? throw new InvalidOperationException("The new authenticator key was not stored.");
        }

        var label = Uri.EscapeDataString($"{Issuer}:{person.Email}");
        return new AuthenticatorSetup(
            Grouped(key),
            $"otpauth://totp/{label}?secret={key}&issuer={Uri.EscapeDataString(Issuer)}&digits=6&period=30");
    }

    /// <summary>
    /// Turns two-step sign-in on when <paramref name="code"/> is the app's current code; returns the recovery codes to show
    /// once (only their hashes are kept), or null when the code is wrong.
    /// </summary>
    public async Task<IReadOnlyList<string>?> TurnOnTwoStepAsync(Person person, string code)
    {
        var token = string.Concat((code ?? string.Empty).Where(char.IsAsciiDigit));
        if (person.TwoFactorEnabled || !await users.VerifyTwoFactorTokenAsync(person, users.Options.Tokens.AuthenticatorTokenProvider, token))
            return null;
        var codes = (await users.GenerateNewTwoFactorRecoveryCodesAsync(person, RecoveryCodeCount))!.ToList();
        audit.Record(person.TenantId, ActorOf(person), AuditActions.PersonTwoStepOn, "person", person.Id);
        Check(await users.SetTwoFactorEnabledAsync(person, true));
        return codes;
    }

    /// <summary>New recovery codes (the old ones stop working).</summary>
    public async Task<IReadOnlyList<string>> RenewRecoveryCodesAsync(Person person)
    {
        if (!person.TwoFactorEnabled)
            throw DomainException.Conflict("two-step-off", "Two-step sign-in is off, so there are no recovery codes to renew.");
        audit.Record(person.TenantId, ActorOf(person), AuditActions.PersonRecoveryCodesRenewed, "person", person.Id);
        return (await users.GenerateNewTwoFactorRecoveryCodesAsync(person, RecoveryCodeCount))!.ToList();
    }

    /// <summary>The person turns two-step sign-in off, proving it is them with their password; false when the password is wrong.</summary>
    public async Task<bool> TurnOffTwoStepAsync(Person person, string password)
    {
        if (!await users.CheckPasswordAsync(person, password ?? string.Empty))
            return false;
        await ClearTwoStepAsync(person, ActorOf(person));
        return true;
    }

    /// <summary>An admin turns two-step sign-in off for a person who lost their app and their recovery codes; the person keeps their password.</summary>
    public async Task<Person> TurnOffTwoStepForAsync(Guid tenantId, Actor by, Guid id, CancellationToken ct)
    {
        var person = await people.GetAsync(tenantId, id, ct);
        if (!person.IsActive)
            throw DomainException.Conflict("person-removed", "This person was removed.");
        if (person.TwoFactorEnabled)
            await ClearTwoStepAsync(person, by);
        return person;
    }

    /// <summary>Changes the person's own password; Identity's refusals (wrong current password, too short) come back as the result.</summary>
    public async Task<IdentityResult> ChangePasswordAsync(Person person, string currentPassword, string newPassword)
    {
        audit.Record(person.TenantId, ActorOf(person), AuditActions.PersonPasswordChanged, "person", person.Id);
        var result = await users.ChangePasswordAsync(person, currentPassword ?? string.Empty, newPassword ?? string.Empty);
        if (!result.Succeeded)
            db.DiscardPendingChanges();
        return result;
    }

    private async Task ClearTwoStepAsync(Person person, Actor by)
    {
        audit.Record(person.TenantId, by, AuditActions.PersonTwoStepOff, "person", person.Id);
        await users.RemoveAuthenticationTokenAsync(person, PersonStore.TokenProvider, PersonStore.AuthenticatorKeyName);
        await users.RemoveAuthenticationTokenAsync(person, PersonStore.TokenProvider, PersonStore.RecoveryCodesName);
        Check(await users.SetTwoFactorEnabledAsync(person, false));
    }

    private static Actor ActorOf(Person person) => new(person.Id, person.DisplayName);

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
            throw new InvalidOperationException("Identity refused: " + string.Join("; ", result.Errors.Select(e => e.Code)));
    }

    /// <summary>The key in groups of four, easier to type (authenticator apps ignore the spaces).</summary>
    private static string Grouped(string key)
    {
        var text = new StringBuilder();
        for (var i = 0; i < key.Length; i += 4)
            text.Append(i == 0 ? string.Empty : " ").Append(key.AsSpan(i, Math.Min(4, key.Length - i)));
        return text.ToString().ToLowerInvariant();
    }
}
