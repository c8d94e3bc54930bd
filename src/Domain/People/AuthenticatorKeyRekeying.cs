using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace FeedbackHub.Domain.People;

/// <summary>
/// The two-step sign-in half of rotating <c>Webhooks:SecretKey</c>: re-seals every person's authenticator key under the
/// current key (the key, and so the person's authenticator app, do not change). A person whose key opens with no
/// configured key signs in with a recovery code and sets up their app again, or an admin turns two-step sign-in off for
/// them. Needs a context with system access.
/// </summary>
public static class AuthenticatorKeyRekeying
{
    public static async Task<(int Resealed, int AlreadyCurrent, IReadOnlyList<Guid> Unreadable)> RunAsync(
        FeedbackHubDbContext db, WebhookSecretBox box, int batchSize = 200, CancellationToken ct = default)
    {
        var (resealed, current, unreadable) = await SealedSecretRekeying.RunAsync(
            db, box, batchSize,
            after => db.Set<IdentityUserToken<Guid>>()
                .FromSql($"""
                    SELECT * FROM person_tokens
                    WHERE user_id > {after} AND login_provider = {PersonStore.TokenProvider} AND name = {PersonStore.AuthenticatorKeyName}
                    ORDER BY user_id LIMIT {batchSize} FOR UPDATE
                    """)
                .OrderBy(t => t.UserId),
            t => t.UserId,
            t =>
            {
                var key = box.Open(Convert.FromBase64String(t.Value!), t.UserId, out var underCurrentKey, PersonStore.AuthenticatorKeyPurpose);
                if (underCurrentKey)
                    return false;
                t.Value = PersonStore.Seal(box, t.UserId, key);
                return true;
            },
            ct);
        return (resealed, current, unreadable.Select(t => t.UserId).ToList());
    }
}
