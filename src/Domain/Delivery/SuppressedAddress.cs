using System.Security.Cryptography;
using System.Text;

namespace FeedbackHub.Domain.Delivery;

/// <summary>
/// An address that answered with a permanent SMTP failure: the tenant sends nothing more to it. Stored as a
/// SHA-256 of the lower-cased address, so the list itself holds no personal data.
/// </summary>
public sealed class SuppressedAddress
{
    private SuppressedAddress()
    {
        AddressHash = [];
        Reason = string.Empty;
    }

    public Guid TenantId { get; private set; }

    public byte[] AddressHash { get; private set; }

    public string Reason { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public static SuppressedAddress For(Guid tenantId, string address, string reason, DateTimeOffset now) =>
        new() { TenantId = tenantId, AddressHash = Hash(address), Reason = reason.Length > 500 ? reason[..500] : reason, CreatedAt = now };

    public static byte[] Hash(string address) => SHA256.HashData(Encoding.UTF8.GetBytes(address.Trim().ToLowerInvariant()));
}
