using System.Security.Cryptography;
using System.Text;

namespace FeedbackHub.Domain.Delivery;

/// <summary>
/// The candidate's personal link to ask for feedback: 256 random bits, shown once (in the rejection answer) and
/// stored only as a SHA-256 hash. Valid until the end of the tenant's request window. A new rejection rotates it.
/// </summary>
public sealed class FeedbackRequestLink
{
    private FeedbackRequestLink()
    {
        TokenHash = [];
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public Guid ApplicationId { get; private set; }

    public byte[] TokenHash { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset ExpiresAt { get; private set; }

    public DateTimeOffset? RevokedAt { get; private set; }

    public static (FeedbackRequestLink Link, string Token) Issue(Guid tenantId, Guid applicationId, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (new FeedbackRequestLink
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            ApplicationId = applicationId,
            TokenHash = Hash(token),
            CreatedAt = now,
            ExpiresAt = expiresAt,
        }, token);
    }

    public bool IsUsable(DateTimeOffset now) => RevokedAt is null && now < ExpiresAt;

    public void Revoke(DateTimeOffset now) => RevokedAt ??= now;

    /// <summary>Tokens are 43 base64url characters; anything else cannot be one (and is hashed all the same).</summary>
    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token ?? string.Empty));
}
