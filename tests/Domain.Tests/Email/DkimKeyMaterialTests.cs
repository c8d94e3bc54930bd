using System.Security.Cryptography;
using FeedbackHub.Domain.Email;

namespace FeedbackHub.Domain.Tests.Email;

public sealed class DkimKeyMaterialTests
{
    private static readonly RSA Rsa2048 = RSA.Create(2048);

    [Fact]
    public void A_PKCS1_and_a_PKCS8_key_are_read_as_the_same_key_with_its_public_key()
    {
        var pkcs1 = DkimKeyMaterial.TryParse(Rsa2048.ExportRSAPrivateKeyPem(), out var p1);
        var pkcs8 = DkimKeyMaterial.TryParse(Rsa2048.ExportPkcs8PrivateKeyPem(), out var p8);
        Assert.Null(p1);
        Assert.Null(p8);
        Assert.Equal(2048, pkcs1!.KeyBits);
        Assert.Equal(Rsa2048.ExportSubjectPublicKeyInfo(), pkcs1.PublicKey);
        Assert.Equal(pkcs1.PublicKey, pkcs8!.PublicKey);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", pkcs1.PrivateKeyPem, StringComparison.Ordinal); // one form for the signer
        Assert.DoesNotContain("BEGIN", pkcs1.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Text_around_the_key_and_windows_line_ends_are_accepted()
    {
        var pem = "my DKIM key\r\n" + Rsa2048.ExportRSAPrivateKeyPem().Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n";
        Assert.NotNull(DkimKeyMaterial.TryParse(pem, out _));
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(4096)]
    public void Sizes_from_1024_to_4096_bits_are_accepted(int bits)
    {
        using var rsa = RSA.Create(bits);
        Assert.Equal(bits, DkimKeyMaterial.TryParse(rsa.ExportPkcs8PrivateKeyPem(), out _)!.KeyBits);
    }

    public static TheoryData<string, string, string> Refused()
    {
        using var small = RSA.Create(512);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var ed25519 = PemEncoding.WriteString("PRIVATE KEY", Convert.FromHexString("302e020100300506032b657004220420" + new string('1', 64)));
        var legacyEncrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        return new TheoryData<string, string, string>
        {
            { "empty", "  ", "Required" },
            { "not PEM", "this is not a key", "Not a PEM private key" },
            { "public key (SPKI)", Rsa2048.ExportSubjectPublicKeyInfoPem(), "public key" },
            { "public key (PKCS#1)", Rsa2048.ExportRSAPublicKeyPem(), "public key" },
            { "512 bits", small.ExportRSAPrivateKeyPem(), "512 bits" },
            { "encrypted PKCS#8", Rsa2048.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)), "encrypted" },
            { "encrypted PKCS#1", legacyEncrypted, "encrypted" },
            { "EC (SEC1)", ec.ExportECPrivateKeyPem(), "Only RSA" },
            { "EC (PKCS#8)", ec.ExportPkcs8PrivateKeyPem(), "Only RSA" },
            { "Ed25519", ed25519, "Only RSA" },
            { "damaged", PemEncoding.WriteString("RSA PRIVATE KEY", RandomNumberGenerator.GetBytes(600)), "cannot be read" },
            { "two keys", Rsa2048.ExportRSAPrivateKeyPem() + "\n" + small.ExportRSAPrivateKeyPem(), "more than one" },
            { "too long", Rsa2048.ExportRSAPrivateKeyPem() + new string(' ', DkimKeyMaterial.MaxPemLength), "At most" },
        };
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Keys_that_cannot_sign_DKIM_are_refused_with_why_and_without_quoting_them(string name, string pem, string why)
    {
        Assert.Null(DkimKeyMaterial.TryParse(pem, out var problem));
        Assert.Contains(why, problem, StringComparison.OrdinalIgnoreCase);
        var body = pem.Split('\n').Where(l => l.Length > 20 && !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        Assert.All(body, line => Assert.DoesNotContain(line.Trim(), problem!, StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public void A_generated_key_has_2048_bits_and_signs()
    {
        var key = DkimKeyMaterial.Generate();
        Assert.Equal(2048, key.KeyBits);
        Assert.NotNull(DkimKeyMaterial.TryParse(key.PrivateKeyPem, out _));
        Assert.NotEqual(key.PublicKey, DkimKeyMaterial.Generate().PublicKey);
    }
}
