using System.Xml.Linq;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Domain.People;

/// <summary>
/// Data Protection's keys (which sign session cookies and people's links) are sealed in the database with the
/// deployment's secret key (<see cref="WebhookSecretBox"/>, AES-256-GCM), so reading the table is not enough to forge a
/// session. A key sealed under a key listed in <c>Webhooks:PreviousSecretKeys</c> still opens during a rotation.
/// </summary>
internal sealed class SealedXmlEncryptor(WebhookSecretBox box) : IXmlEncryptor
{
    internal const string Purpose = "data-protection-key";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var sealedKey = box.Seal(plaintextElement.ToString(SaveOptions.DisableFormatting), Guid.Empty, Purpose);
        return new EncryptedXmlInfo(new XElement("sealedKey", Convert.ToBase64String(sealedKey)), typeof(SealedXmlDecryptor));
    }
}

/// <summary>Opens what <see cref="SealedXmlEncryptor"/> sealed (Data Protection creates it by type, with the services).</summary>
internal sealed class SealedXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        var box = services.GetRequiredService<WebhookSecretBox>();
        return XElement.Parse(box.Open(Convert.FromBase64String(encryptedElement.Value), Guid.Empty, SealedXmlEncryptor.Purpose));
    }
}
