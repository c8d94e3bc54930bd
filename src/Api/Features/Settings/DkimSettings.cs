using System.ComponentModel;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Api.Features.Settings;

/// <summary>The tenant's own DKIM key, set through <c>dkim</c> in PATCH /v1/settings. The private key is sealed at rest and never returned.</summary>
[Description("A DKIM key to sign the tenant's emails with. The private key is sealed at rest and never returned by any operation.")]
public sealed record DkimKeyRequest(
    [property: Description("The signing domain (d=), e.g. acme.example: the sender address's domain or a parent of it.")] string Domain,
    [property: Description("The selector (s=), e.g. fh2026a: the record is published at <selector>._domainkey.<domain>. Use a new one for each key.")] string Selector,
    [property: Description("The RSA private key in PEM, PKCS#1 (BEGIN RSA PRIVATE KEY) or PKCS#8 (BEGIN PRIVATE KEY), unencrypted, 1024 to 4096 bits (2048 recommended).")]
    [FreeText] string PrivateKey)
{
    /// <summary>Never prints the key (records print every member by default).</summary>
    public override string ToString() => $"DkimKeyRequest {{ Domain = {Domain}, Selector = {Selector} }}";
}

/// <summary>Names a key to generate: the signing domain and a selector not used by the active key.</summary>
[Description("The names of a key for FeedbackHub to generate: the signing domain and a new selector.")]
public sealed record GenerateDkimKeyRequest(
    [property: Description("The signing domain (d=), e.g. acme.example.")] string Domain,
    [property: Description("A selector the active key does not use, e.g. fh2026b.")] string Selector);

/// <summary>Names the pending key to activate: the names whose record the admin published.</summary>
[Description("The names of the pending key whose DNS record you published.")]
public sealed record ActivateDkimKeyRequest(
    [property: Description("The pending key's signing domain.")] string Domain,
    [property: Description("The pending key's selector.")] string Selector);

/// <summary>A generated key waiting for its DNS record: not used until activated.</summary>
[Description("A key FeedbackHub generated, waiting until its DNS record is published and it is activated. It signs nothing yet.")]
public sealed record PendingDkimKeyResponse(
    string Domain, string Selector, int KeyBits, DateTimeOffset CreatedAt,
    [property: Description("The record to publish before activating the key.")] DkimDnsRecord DnsRecord);

/// <summary>
/// Whether the tenant's emails are DKIM-signed and with what. Without an active key <c>status</c> is <c>unsigned</c>
/// and the key members are null.
/// </summary>
[Description("Whether the tenant's emails are DKIM-signed, with which key, and the DNS record receivers verify them with. Never holds the private key.")]
public sealed record DkimSettingsResponse(
    [property: ApiValues(typeof(DkimStatus))]
    [property: Description("signing: emails are signed. unsigned: no key, emails go out unsigned. domainMismatch: the sender address is not in the key's domain or a subdomain of it, so emails go out unsigned. keyUnreadable: the stored key does not open with the operator's encryption key; emails wait until that is fixed.")]
    string Status,
    [property: Description("What the status means for the tenant's emails and what to do, in a sentence or two.")] string Detail,
    [property: Description("The active key's signing domain (d=); null without a key.")] string? Domain,
    [property: Description("The active key's selector (s=); null without a key.")] string? Selector,
    [property: Description("The active key's size in bits; 2048 is recommended.")] int? KeyBits,
    [property: Description("True when FeedbackHub generated the key (its private key was never handed out).")] bool? Generated,
    [property: Description("When the active key was set or activated.")] DateTimeOffset? UpdatedAt,
    [property: Description("The TXT record receivers look up to verify signatures: publish it, and keep it while the key signs.")] DkimDnsRecord? DnsRecord,
    [property: Description("A generated key waiting for activation, if any.")] PendingDkimKeyResponse? Pending)
{
    public static DkimSettingsResponse From(IReadOnlyCollection<DkimKey> keys, TenantSettings settings, WebhookSecretBox box)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(settings);
        var active = keys.SingleOrDefault(k => k.State == DkimKeyState.Active);
        var pending = keys.SingleOrDefault(k => k.State == DkimKeyState.Pending);
        var (status, detail) = DkimStatus.Of(active, active?.Opens(box) == true, settings.SenderAddress);
        if (pending is not null)
            detail += $" A generated key waits for activation: publish the record at {pending.DnsRecord.Name}, then POST /v1/settings/dkim/activate.";
        return new DkimSettingsResponse(
            status, detail, active?.Domain, active?.Selector, active?.KeyBits, active?.Generated, active?.ActivatedAt, active?.DnsRecord,
            pending is null ? null : new PendingDkimKeyResponse(pending.Domain, pending.Selector, pending.KeyBits, pending.CreatedAt, pending.DnsRecord));
    }
}
