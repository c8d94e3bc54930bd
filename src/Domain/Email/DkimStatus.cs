namespace FeedbackHub.Domain.Email;

/// <summary>
/// What becomes of a tenant's emails with its DKIM settings: the same rule the worker's key provider applies, so what
/// the settings answer says is what the worker does.
/// </summary>
public static class DkimStatus
{
    /// <summary>Emails are signed with the active key.</summary>
    public const string Signing = "signing";

    /// <summary>No active key: emails go out unsigned.</summary>
    public const string NotSigned = "unsigned";

    /// <summary>The sender address does not align with the key's domain: emails go out unsigned.</summary>
    public const string DomainMismatch = "domainMismatch";

    /// <summary>The sealed key opens with no configured operator key: emails wait (they are not sent unsigned).</summary>
    public const string KeyUnreadable = "keyUnreadable";

    /// <param name="active">The active key, or null.</param>
    /// <param name="opens">Whether the active key's private key opens with the configured operator keys.</param>
    /// <param name="senderAddress">The tenant's sender address (settings).</param>
    public static (string Status, string Detail) Of(DkimKey? active, bool opens, string senderAddress)
    {
        if (active is null)
        {
            return (NotSigned, "No DKIM key: emails go out unsigned. Generate a key (POST /v1/settings/dkim/generate) or set your own "
                + "(dkim in PATCH /v1/settings), publish its DNS record, and emails are signed.");
        }

        if (!DkimNames.Aligns(senderAddress, active.Domain))
        {
            return (DomainMismatch, $"The sender address {senderAddress} is not in {active.Domain} or a subdomain of it, so a signature "
                + $"with d={active.Domain} would not align for DMARC: emails go out unsigned. Change senderAddress, or set a key for "
                + "the sender address's domain (or a parent domain of it).");
        }

        if (!opens)
        {
            return (KeyUnreadable, "The stored key cannot be opened with the operator's encryption key (it was replaced without keeping "
                + "the old one): emails wait, they are not sent unsigned. The operator can add the old key to Webhooks:PreviousSecretKeys; "
                + "or set or generate a new key (and publish its record), or remove DKIM with dkim: null to send unsigned.");
        }

        var weak = active.KeyBits < DkimKeyMaterial.RecommendedBits
            ? $" The key has {active.KeyBits} bits; {DkimKeyMaterial.RecommendedBits} are recommended (RFC 8301): generate a new one."
            : string.Empty;
        return (Signing, $"Emails from {senderAddress} are signed with d={active.Domain}, s={active.Selector} (relaxed/relaxed, rsa-sha256). "
            + $"Receivers verify them with the TXT record at {active.DnsRecord.Name}: keep it published.{weak}");
    }
}
