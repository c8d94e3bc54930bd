namespace FeedbackHub.Domain.Email;

/// <summary>
/// The DNS names of DKIM (RFC 6376 section 3.1): the signing domain (<c>d=</c>), the selector (<c>s=</c>), the record
/// name <c>selector._domainkey.domain</c>, and when a signature aligns with the From address for DMARC.
/// </summary>
public static class DkimNames
{
    private const int MaxNameLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>Lower case, without surrounding spaces or a final dot (DNS names are case-insensitive).</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().TrimEnd('.').ToLowerInvariant();
    }

    public static string RecordName(string selector, string domain) => $"{Normalize(selector)}._domainkey.{Normalize(domain)}";

    /// <summary>Null when <paramref name="domain"/> (normalized) is a domain name one can publish a DKIM key under; otherwise why not.</summary>
    public static string? DomainProblem(string domain)
    {
        var labels = domain.Split('.');
        return domain.Length is 0 or > MaxNameLength || labels.Length < 2 || !labels.All(IsLabel) || labels[^1].All(char.IsAsciiDigit)
            ? "Must be a domain name such as acme.example: at least two labels of letters, digits and hyphens (at most 63 characters each, "
              + "no hyphen first or last); an internationalized name in its xn-- form."
            : null;
    }

    /// <summary>Null when <paramref name="selector"/> (normalized) is a selector whose record name fits DNS under <paramref name="domain"/>; otherwise why not.</summary>
    public static string? SelectorProblem(string selector, string domain)
    {
        if (selector.Length == 0 || !selector.Split('.').All(IsLabel))
        {
            return "Must be a DNS label such as fh2026 (letters, digits and hyphens, at most 63 characters, no hyphen first or last), "
                + "or several joined by dots.";
        }

        return RecordName(selector, domain).Length > MaxNameLength
            ? $"The record name {selector}._domainkey.<domain> must stay within {MaxNameLength} characters; use a shorter selector."
            : null;
    }

    /// <summary>
    /// Whether a signature with <c>d=</c><paramref name="dkimDomain"/> aligns with From <paramref name="senderAddress"/>
    /// under DMARC's relaxed mode (RFC 7489 section 3.1.1, the default): the From domain is the signing domain or a
    /// subdomain of it, or the signing domain is a subdomain of the From domain. Either way both have the same
    /// organizational domain. Sibling subdomains (news.acme.example and mail.acme.example) also align in relaxed mode, but
    /// telling that needs the public suffix list, so they count as not aligned: the safe side, since FeedbackHub does not
    /// sign what does not align. Strict mode (<c>adkim=s</c>) needs the exact From domain.
    /// </summary>
    public static bool Aligns(string senderAddress, string dkimDomain)
    {
        ArgumentNullException.ThrowIfNull(senderAddress);
        ArgumentNullException.ThrowIfNull(dkimDomain);
        var at = senderAddress.LastIndexOf('@');
        if (at < 0)
            return false;
        var from = Normalize(senderAddress[(at + 1)..]);
        var d = Normalize(dkimDomain);
        if (from.Length == 0 || d.Length == 0)
            return false;
        return from == d || from.EndsWith("." + d, StringComparison.Ordinal) || d.EndsWith("." + from, StringComparison.Ordinal);
    }

    private static bool IsLabel(string label) =>
        label.Length is > 0 and <= MaxLabelLength && label[0] != '-' && label[^1] != '-' && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
