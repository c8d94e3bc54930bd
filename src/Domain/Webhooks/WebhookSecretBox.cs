using System.Security.Cryptography;
using System.Text;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>
/// Seals, at rest, the secrets FeedbackHub must use again in clear: webhook signing secrets (for the HMAC at send time)
/// and tenants' DKIM private keys (to sign emails). They cannot be hashed like an API key; they are sealed with
/// AES-256-GCM under the operator's key from configuration (<c>Webhooks:SecretKey</c>, base64 of 32 bytes, the same
/// for the API and the worker; the name predates DKIM and stays so deployments keep working). Layout: version byte (1)
/// | nonce (12) | ciphertext | tag (16). The associated data is the owner's id (the subscription, the DKIM key), prefixed
/// by a purpose for everything but webhook secrets, so a ciphertext copied onto another row, or from a webhook secret
/// to a DKIM key, does not open.
/// Key rotation: secrets are always sealed under the current key and opened with it or with any of
/// <c>Webhooks:PreviousSecretKeys</c>; the <c>rekey-secrets</c> command re-seals them under the current key.
/// </summary>
public sealed class WebhookSecretBox
{
    public const string ConfigurationKey = "Webhooks:SecretKey";
    public const string PreviousKeysConfigurationKey = "Webhooks:PreviousSecretKeys";
    private const string HowTo = "Generate one with `openssl rand -base64 32` and give the same value to the API and the worker "
        + "(environment variable Webhooks__SecretKey; scripts/run.sh does this for development).";
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;
    private readonly byte[][] _previous;

    public WebhookSecretBox(byte[] key, IEnumerable<byte[]>? previousKeys = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != 32)
            throw new InvalidOperationException($"{ConfigurationKey} must be 32 bytes (base64); it has {key.Length}.");
        _key = key.ToArray();
        _previous = (previousKeys ?? []).Select(k => k.Length == 32
                ? k.ToArray()
                : throw new InvalidOperationException($"Every key in {PreviousKeysConfigurationKey} must be 32 bytes; one has {k.Length}."))
            .ToArray();
    }

    /// <summary>How many earlier keys can still open secrets.</summary>
    public int PreviousKeyCount => _previous.Length;

    /// <summary>
    /// Reads the current key and the earlier ones (comma-separated, optional) from their configuration values; the
    /// message says how to make a key when one is missing or wrong.
    /// </summary>
    public static WebhookSecretBox FromConfiguration(string? base64, string? previousBase64 = null)
    {
        if (string.IsNullOrWhiteSpace(base64))
            throw new InvalidOperationException($"{ConfigurationKey} is not configured: webhook secrets and DKIM keys are encrypted with it. {HowTo}");
        var key = Decode(base64, ConfigurationKey);
        var previous = (previousBase64 ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select((k, i) => Decode(k, $"{PreviousKeysConfigurationKey} (entry {i + 1})"))
            .ToList();
        return new WebhookSecretBox(key, previous);
    }

    private static byte[] Decode(string base64, string name)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{name} is not valid base64. {HowTo}");
        }

        if (key.Length != 32)
            throw new InvalidOperationException($"{name} must decode to 32 bytes; it decodes to {key.Length}. {HowTo}");
        return key;
    }

    /// <summary>
    /// Seals under the current key. <paramref name="ownerId"/> is the row the secret belongs to; <paramref name="purpose"/>
    /// says what it is (null: a webhook secret, as sealed before purposes existed), and must be given again to open it.
    /// </summary>
    public byte[] Seal(string secret, Guid ownerId, string? purpose = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var plain = Encoding.UTF8.GetBytes(secret);
        var output = new byte[1 + NonceSize + plain.Length + TagSize];
        output[0] = Version;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(1 + NonceSize, plain.Length), output.AsSpan(1 + NonceSize + plain.Length, TagSize), AssociatedData(ownerId, purpose));
        return output;
    }

    /// <summary>
    /// Opens a sealed secret; throws <see cref="CryptographicException"/> when no configured key opens it, or when it
    /// was sealed for another owner or purpose.
    /// </summary>
    public string Open(byte[] sealedSecret, Guid ownerId, string? purpose = null) => Open(sealedSecret, ownerId, out _, purpose);

    /// <summary>As <see cref="Open(byte[], Guid, string?)"/>; <paramref name="sealedUnderCurrentKey"/> is false when only an earlier key opened it.</summary>
    public string Open(byte[] sealedSecret, Guid ownerId, out bool sealedUnderCurrentKey, string? purpose = null)
    {
        ArgumentNullException.ThrowIfNull(sealedSecret);
        if (sealedSecret.Length < 1 + NonceSize + TagSize || sealedSecret[0] != Version)
            throw new CryptographicException("Not a sealed secret of a known version.");
        sealedUnderCurrentKey = true;
        var associatedData = AssociatedData(ownerId, purpose);
        foreach (var key in _previous.Prepend(_key))
        {
            if (TryOpen(key, sealedSecret, associatedData) is { } secret)
                return secret;
            sealedUnderCurrentKey = false;
        }

        throw new CryptographicException($"The sealed secret does not open with {ConfigurationKey} or any of {PreviousKeysConfigurationKey}.");
    }

    /// <summary>The owner's id, after the purpose (UTF-8 and a NUL) when there is one.</summary>
    private static byte[] AssociatedData(Guid ownerId, string? purpose) =>
        purpose is null ? ownerId.ToByteArray() : [.. Encoding.UTF8.GetBytes(purpose), 0, .. ownerId.ToByteArray()];

    private static string? TryOpen(byte[] key, byte[] sealedSecret, byte[] associatedData)
    {
        var length = sealedSecret.Length - 1 - NonceSize - TagSize;
        var plain = new byte[length];
        using var aes = new AesGcm(key, TagSize);
        try
        {
            aes.Decrypt(sealedSecret.AsSpan(1, NonceSize), sealedSecret.AsSpan(1 + NonceSize, length), sealedSecret.AsSpan(1 + NonceSize + length, TagSize), plain, associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }

        return Encoding.UTF8.GetString(plain);
    }
}
