using System.Security.Cryptography;

namespace FeedbackHub.Domain.Email;

/// <summary>
/// An RSA private key fit for DKIM signing (rsa-sha256, RFC 6376 and RFC 8301), with the public key its DNS record
/// publishes. Only RSA: MimeKit's signer also does Ed25519 (RFC 8463), but the big mailbox providers do not verify it,
/// so an Ed25519-only tenant would in effect send unsigned; ECDSA is no DKIM algorithm at all.
/// </summary>
public sealed class DkimKeyMaterial
{
    public const int MinBits = 1024;
    public const int RecommendedBits = 2048;
    public const int MaxBits = 4096;

    /// <summary>A 4096-bit PKCS#1 key in PEM is about 3,300 characters; anything much longer is not one key.</summary>
    public const int MaxPemLength = 10_000;

    private DkimKeyMaterial(string privateKeyPem, byte[] publicKey, int keyBits)
    {
        PrivateKeyPem = privateKeyPem;
        PublicKey = publicKey;
        KeyBits = keyBits;
    }

    /// <summary>The key as PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>), whichever form it was given in.</summary>
    public string PrivateKeyPem { get; }

    /// <summary>The DER SubjectPublicKeyInfo: what the DNS record's <c>p=</c> holds, in base64.</summary>
    public byte[] PublicKey { get; }

    public int KeyBits { get; }

    /// <summary>Never prints the key.</summary>
    public override string ToString() => $"DkimKeyMaterial {{ KeyBits = {KeyBits} }}";

    /// <summary>A new key made here, so nobody ever handles the private key.</summary>
    public static DkimKeyMaterial Generate(int bits = RecommendedBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, MinBits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, MaxBits);
        using var rsa = RSA.Create(bits);
        return From(rsa);
    }

    /// <summary>
    /// Reads an unencrypted RSA private key in PEM, PKCS#1 (<c>RSA PRIVATE KEY</c>) or PKCS#8 (<c>PRIVATE KEY</c>), of
    /// <see cref="MinBits"/> to <see cref="MaxBits"/> bits, and proves it signs. Null when it cannot serve, with
    /// <paramref name="problem"/> saying why in a sentence safe to show (it never quotes the input).
    /// </summary>
    public static DkimKeyMaterial? TryParse(string? pem, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(pem))
            return Fail(out problem, "Required: an RSA private key in PEM (PKCS#1 or PKCS#8), or generate one with POST /v1/settings/dkim/generate.");
        if (pem.Length > MaxPemLength)
            return Fail(out problem, $"At most {MaxPemLength} characters: one RSA private key in PEM of at most {MaxBits} bits.");
        if (pem.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.OrdinalIgnoreCase))
            return Fail(out problem, Encrypted);

        var blocks = new List<(string Label, byte[] Data)>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var data = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], data, out var written))
                return Fail(out problem, NotPem);
            blocks.Add((rest[fields.Label].ToString(), data[..written]));
            rest = rest[fields.Location.End..];
        }

        var keys = blocks.Where(b => b.Label is "PRIVATE KEY" or "RSA PRIVATE KEY" or "ENCRYPTED PRIVATE KEY" or "EC PRIVATE KEY" or "OPENSSH PRIVATE KEY" or "DSA PRIVATE KEY").ToList();
        if (keys.Count == 0)
        {
            return Fail(out problem, blocks.Any(b => b.Label is "PUBLIC KEY" or "RSA PUBLIC KEY" or "CERTIFICATE")
                ? "This is a public key or a certificate; send the private key (FeedbackHub derives the DNS record from it)."
                : NotPem);
        }

        if (keys.Count > 1)
            return Fail(out problem, "Holds more than one private key; send exactly one.");
        var (label, der) = keys[0];
        try
        {
            switch (label)
            {
                case "ENCRYPTED PRIVATE KEY":
                    return Fail(out problem, Encrypted);
                case "EC PRIVATE KEY":
                    return Fail(out problem, NotRsa);
                case "OPENSSH PRIVATE KEY":
                    return Fail(out problem, "OpenSSH's key format is not read; convert it to PKCS#8 PEM (`ssh-keygen -p -N \"\" -m PKCS8 -f <file>`) or generate a key here.");
                case "DSA PRIVATE KEY":
                    return Fail(out problem, NotRsa);
            }

            using var rsa = RSA.Create();
            int read;
            if (label == "RSA PRIVATE KEY")
            {
                rsa.ImportRSAPrivateKey(der, out read);
            }
            else if (!TryImportPkcs8(rsa, der, out read, out problem))
            {
                return null;
            }

            if (read != der.Length)
                return Fail(out problem, Damaged);
            if (rsa.KeySize < MinBits)
                return Fail(out problem, $"The key has {rsa.KeySize} bits; DKIM needs at least {MinBits} (RFC 8301), and {RecommendedBits} are recommended.");
            if (rsa.KeySize > MaxBits)
                return Fail(out problem, $"The key has {rsa.KeySize} bits; at most {MaxBits} (larger keys do not fit many DNS providers' TXT records, and some verifiers refuse them). {RecommendedBits} are recommended.");
            return Signs(rsa) ? From(rsa) : Fail(out problem, Damaged);
        }
        catch (CryptographicException)
        {
            return Fail(out problem, Damaged);
        }
    }

    private const string NotPem = "Not a PEM private key: expected one block such as -----BEGIN PRIVATE KEY----- (PKCS#8) or -----BEGIN RSA PRIVATE KEY----- (PKCS#1), with its END line.";
    private const string Encrypted = "The key is encrypted with a passphrase; send it unencrypted (`openssl pkey -in key.pem -out plain.pem`): FeedbackHub seals it at rest itself.";
    private const string NotRsa = "Only RSA keys sign DKIM here (rsa-sha256): EC and DSA keys are not DKIM algorithms, and Ed25519 is not verified by the big mailbox providers. Use an RSA key of 2048 bits.";
    private const string Damaged = "The key cannot be read or cannot sign (damaged or not an RSA private key).";

    private static bool TryImportPkcs8(RSA rsa, byte[] der, out int read, out string? problem)
    {
        problem = null;
        try
        {
            rsa.ImportPkcs8PrivateKey(der, out read);
            return true;
        }
        catch (CryptographicException)
        {
            read = 0;
            // Not RSA: say what it is when we can tell (id-ecPublicKey 1.2.840.10045.2.1, id-Ed25519 1.3.101.112, id-Ed448 1.3.101.113).
            ReadOnlySpan<byte> ec = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
            ReadOnlySpan<byte> ed25519 = [0x06, 0x03, 0x2B, 0x65, 0x70];
            ReadOnlySpan<byte> ed448 = [0x06, 0x03, 0x2B, 0x65, 0x71];
            var isEc = der.AsSpan().IndexOf(ec) >= 0;
            var isEdwards = der.AsSpan().IndexOf(ed25519) >= 0 || der.AsSpan().IndexOf(ed448) >= 0;
            problem = isEc || isEdwards ? NotRsa : Damaged;
            return false;
        }
    }

    private static bool Signs(RSA rsa)
    {
        ReadOnlySpan<byte> probe = "DKIM key check"u8;
        var signature = rsa.SignData(probe, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var check = RSA.Create();
        check.ImportSubjectPublicKeyInfo(rsa.ExportSubjectPublicKeyInfo(), out _);
        return check.VerifyData(probe, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    private static DkimKeyMaterial From(RSA rsa) => new(rsa.ExportPkcs8PrivateKeyPem(), rsa.ExportSubjectPublicKeyInfo(), rsa.KeySize);

    private static DkimKeyMaterial? Fail(out string? problem, string why)
    {
        problem = why;
        return null;
    }
}
