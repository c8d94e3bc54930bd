using System.ComponentModel;

namespace FeedbackHub.Domain.Email;

/// <summary>
/// The DNS TXT record that publishes a DKIM public key (RFC 6376 section 3.6.1). <c>value</c> is the record's text as
/// DNS providers' forms take it; DNS itself stores text in strings of at most 255 characters, so a longer value (every
/// 2048-bit key) is <c>strings</c>, which resolvers join again, and <c>zoneFile</c> is the record as a zone-file line
/// with those strings quoted.
/// </summary>
[Description("The DNS TXT record that publishes a DKIM public key.")]
public sealed record DkimDnsRecord(
    [property: Description("The record's name: <selector>._domainkey.<domain>.")] string Name,
    [property: Description("Always TXT.")] string Type,
    [property: Description("The record's text, v=DKIM1; k=rsa; p=<base64 of the public key>, as DNS providers' forms take it (they split it themselves).")] string Value,
    [property: Description("The same text as DNS stores it: strings of at most 255 characters, to be given as separate quoted strings where a provider asks for them.")] IReadOnlyList<string> Strings,
    [property: Description("The whole record as a zone-file line, with the strings quoted.")] string ZoneFile)
{
    /// <summary>The longest character-string a TXT record holds (RFC 1035 section 3.3).</summary>
    public const int MaxStringLength = 255;

    /// <param name="publicKey">DER SubjectPublicKeyInfo of an RSA key.</param>
    public static DkimDnsRecord For(string selector, string domain, byte[] publicKey)
    {
        ArgumentNullException.ThrowIfNull(publicKey);
        var name = DkimNames.RecordName(selector, domain);
        var value = "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(publicKey);
        var strings = value.Chunk(MaxStringLength).Select(c => new string(c)).ToList();
        // Nothing in the value needs escaping: it is tags, "; " and base64.
        var zoneFile = $"{name}. IN TXT ( {string.Join(' ', strings.Select(s => $"\"{s}\""))} )";
        return new DkimDnsRecord(name, "TXT", value, strings, zoneFile);
    }
}
