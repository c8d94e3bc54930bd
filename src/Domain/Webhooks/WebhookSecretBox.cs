using System.Security.Cryptography;
using System.Text;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>
/// Encrypts webhook secrets at rest. A secret must be usable for the HMAC at send time, so it cannot be hashed like
/// an API key; it is sealed with AES-256-GCM under a key from configuration (<c>Webhooks:SecretKey</c>, base64 of
/// 32 bytes, the same for the API and the worker). Layout: version byte (1) | nonce (12) | ciphertext | tag (16). The
/// subscription id is the associated data, so a ciphertext copied onto another subscription does not open.
/// </summary>
public sealed class WebhookSecretBox
{
    public const string ConfigurationKey = "Webhooks:SecretKey";
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public WebhookSecretBox(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != 32)
            throw new InvalidOperationException($"{ConfigurationKey} must be 32 bytes (base64); it has {key.Length}.");
        _key = key.ToArray();
    }

    /// <summary>Reads the key from its configuration value; the message says how to make one when it is missing or wrong.</summary>
    public static WebhookSecretBox FromConfiguration(string? base64)
    {
        const string howTo = "Generate one with `openssl rand -base64 32` and give the same value to the API and the worker "
            + "(environment variable Webhooks__SecretKey; scripts/run.sh does this for development).";
        if (string.IsNullOrWhiteSpace(base64))
            throw new InvalidOperationException($"{ConfigurationKey} is not configured: webhook secrets are encrypted with it. {howTo}");
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{ConfigurationKey} is not valid base64. {howTo}");
        }

        if (key.Length != 32)
            throw new InvalidOperationException($"{ConfigurationKey} must decode to 32 bytes; it decodes to {key.Length}. {howTo}");
        return new WebhookSecretBox(key);
    }

    public byte[] Seal(string secret, Guid subscriptionId)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var plain = Encoding.UTF8.GetBytes(secret);
        var output = new byte[1 + NonceSize + plain.Length + TagSize];
        output[0] = Version;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(1 + NonceSize, plain.Length), output.AsSpan(1 + NonceSize + plain.Length, TagSize), subscriptionId.ToByteArray());
        return output;
    }

    /// <summary>Opens a sealed secret; throws <see cref="CryptographicException"/> when the key or the subscription does not match.</summary>
    public string Open(byte[] sealedSecret, Guid subscriptionId)
    {
        ArgumentNullException.ThrowIfNull(sealedSecret);
        if (sealedSecret.Length < 1 + NonceSize + TagSize || sealedSecret[0] != Version)
            throw new CryptographicException("Not a sealed webhook secret of a known version.");
        var length = sealedSecret.Length - 1 - NonceSize - TagSize;
        var plain = new byte[length];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(sealedSecret.AsSpan(1, NonceSize), sealedSecret.AsSpan(1 + NonceSize, length), sealedSecret.AsSpan(1 + NonceSize + length, TagSize), plain, subscriptionId.ToByteArray());
        return Encoding.UTF8.GetString(plain);
    }
}
