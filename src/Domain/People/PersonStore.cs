using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;

namespace FeedbackHub.Domain.People;

/// <summary>
/// Identity's store for people, with two-step sign-in secrets kept the way the product keeps secrets: the authenticator
/// key (which must be read back to check codes) is sealed with the deployment's secret key, like webhook secrets and DKIM
/// keys, and re-sealed by <c>rekey-secrets</c>; recovery codes are kept only as password hashes. Identity's own store
/// keeps both in plain text in the tokens table.
/// </summary>
public sealed class PersonStore(FeedbackHubDbContext db, WebhookSecretBox box, IPasswordHasher<Person> hasher, IdentityErrorDescriber? describer = null)
    : UserOnlyStore<Person, FeedbackHubDbContext, Guid>(db, describer)
{
    /// <summary>The tokens-table provider of the sealed and hashed values (not Identity's, so nothing reads them as plain text).</summary>
    public const string TokenProvider = "[FeedbackHub]";

    public const string AuthenticatorKeyName = "AuthenticatorKey";

    public const string RecoveryCodesName = "RecoveryCodeHashes";

    internal const string AuthenticatorKeyPurpose = "authenticator-key";

    public override Task SetAuthenticatorKeyAsync(Person user, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        return SetTokenAsync(user, TokenProvider, AuthenticatorKeyName, Seal(box, user.Id, key), cancellationToken);
    }

    public override async Task<string?> GetAuthenticatorKeyAsync(Person user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        var sealedKey = await GetTokenAsync(user, TokenProvider, AuthenticatorKeyName, cancellationToken);
        return sealedKey is null ? null : box.Open(Convert.FromBase64String(sealedKey), user.Id, AuthenticatorKeyPurpose);
    }

    public override Task ReplaceCodesAsync(Person user, IEnumerable<string> recoveryCodes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(recoveryCodes);
        var hashes = recoveryCodes.Select(c => hasher.HashPassword(user, Normalize(c)));
        return SetTokenAsync(user, TokenProvider, RecoveryCodesName, string.Join(';', hashes), cancellationToken);
    }

    /// <summary>Uses up one recovery code: true when it matched one still unused (it no longer works after this).</summary>
    public override async Task<bool> RedeemCodeAsync(Person user, string code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        var hashes = await RecoveryHashesAsync(user, cancellationToken);
        var normalized = Normalize(code ?? string.Empty);
        if (normalized.Length == 0)
            return false;
        var match = hashes.FindIndex(h => hasher.VerifyHashedPassword(user, h, normalized) != PasswordVerificationResult.Failed);
        if (match < 0)
            return false;
        hashes.RemoveAt(match);
        await SetTokenAsync(user, TokenProvider, RecoveryCodesName, string.Join(';', hashes), cancellationToken);
        return true;
    }

    public override async Task<int> CountCodesAsync(Person user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        return (await RecoveryHashesAsync(user, cancellationToken)).Count;
    }

    internal static string Seal(WebhookSecretBox box, Guid personId, string key) =>
        Convert.ToBase64String(box.Seal(key, personId, AuthenticatorKeyPurpose));

    private async Task<List<string>> RecoveryHashesAsync(Person user, CancellationToken ct) =>
        ((await GetTokenAsync(user, TokenProvider, RecoveryCodesName, ct)) ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>Codes are shown as <c>XXXXX-XXXXX</c>; typed with or without the dash, spaces or lower case, they match.</summary>
    private static string Normalize(string code) =>
        string.Concat(code.Where(c => c != '-' && !char.IsWhiteSpace(c))).ToUpperInvariant();
}
