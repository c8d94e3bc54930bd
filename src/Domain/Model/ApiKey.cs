using System.Security.Cryptography;
using System.Text;

namespace FeedbackHub.Domain.Model;

/// <summary>
/// A credential of a tenant. The secret is shown once at creation; only its SHA-256 hash is stored
/// (the secret has 256 random bits, so a slow hash adds nothing). Keys look like
/// <c>fh_{prefix}_{secret}</c> (lower-case hex): the prefix finds the row, the hash proves the secret.
/// </summary>
public sealed class ApiKey
{
    private const string Scheme = "fh";
    private const int PrefixBytes = 6;   // 12 hex characters
    private const int SecretBytes = 32;  // 256 bits, 64 hex characters

    private ApiKey()
    {
        DisplayName = string.Empty;
        Prefix = string.Empty;
        SecretHash = [];
        Roles = [];
        CreatedBy = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    /// <summary>Who uses the key; recorded as the actor in the audit log.</summary>
    public string DisplayName { get; private set; }

    public string[] Roles { get; private set; }

    /// <summary>Public lookup part of the key (not secret).</summary>
    public string Prefix { get; private set; }

    public byte[] SecretHash { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public string CreatedBy { get; private set; }

    public DateTimeOffset? RevokedAt { get; private set; }

    /// <summary>
    /// The person the key belongs to, if any: their personal key acts as them (the audit log names them and four-eyes
    /// counts them as one person with their sessions). Removing the person revokes it. Null for integration keys.
    /// </summary>
    public Guid? OwnerId { get; private set; }

    public bool IsActive => RevokedAt is null;

    /// <summary>Creates a key and returns it with its secret, which the caller shows once and forgets.</summary>
    public static (ApiKey Key, string Secret) Create(Guid tenantId, string displayName, IEnumerable<string> roles, string createdBy, DateTimeOffset now, Guid? ownerId = null)
    {
        displayName = (displayName ?? string.Empty).Trim();
        var errors = new Dictionary<string, string[]>();
        if (displayName.Length is 0 or > 100 || !TextInput.IsValid(displayName, TextKind.SingleLine))
            errors["displayName"] = ["Must have 1 to 100 characters on one line, without control or invisible formatting characters."];
        var roleList = Model.Roles.Validate(roles, Model.Roles.All, errors);
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The API key request is not valid.") { Errors = errors };

        var prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(PrefixBytes));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(SecretBytes));
        var token = $"{Scheme}_{prefix}_{secret}";
        var key = new ApiKey
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            DisplayName = displayName,
            Roles = roleList,
            Prefix = prefix,
            SecretHash = Hash(token),
            CreatedAt = now,
            CreatedBy = createdBy,
            OwnerId = ownerId,
        };
        return (key, token);
    }

    public void Revoke(DateTimeOffset now) => RevokedAt ??= now;

    /// <summary>Splits a presented token into its lookup prefix; false when it is not shaped like a key.</summary>
    public static bool TryParsePrefix(string token, out string prefix)
    {
        prefix = string.Empty;
        var parts = token.Split('_');
        if (parts.Length != 3 || parts[0] != Scheme || parts[1].Length != PrefixBytes * 2 || parts[2].Length != SecretBytes * 2)
            return false;
        prefix = parts[1];
        return true;
    }

    /// <summary>Constant-time comparison of the presented token with the stored hash.</summary>
    public bool Matches(string token) => CryptographicOperations.FixedTimeEquals(Hash(token), SecretHash);

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
