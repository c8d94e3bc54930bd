using System.Net;
using System.Net.Sockets;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>What resolving a webhook host gave: the addresses to connect to, or why it is refused or unresolvable.</summary>
public sealed record WebhookResolution(IReadOnlyList<IPAddress> Addresses, string? Refusal, bool Unresolvable)
{
    public bool Allowed => Refusal is null && !Unresolvable;
}

/// <summary>
/// Checks webhook URLs: the shape when a subscription is saved (<see cref="ParseUrl"/>), and the host's addresses
/// both then and again at every connection (<see cref="ResolveAsync"/>), so a name that later resolves to a private
/// address is refused when sending.
/// </summary>
public static class WebhookTargets
{
    public const int MaxUrlLength = 2000;

    /// <summary>
    /// An absolute https URL (http only when private targets are allowed), without user info or fragment, at most
    /// 2000 characters. Throws a 422 problem with <c>errors.url</c>.
    /// </summary>
    public static Uri ParseUrl(string? url, bool allowPrivate)
    {
        static DomainException Bad(string message) =>
            new(DomainErrorKind.Invalid, "validation", "The webhook URL is not valid.") { Errors = new Dictionary<string, string[]> { ["url"] = [message] } };

        url = url?.Trim();
        if (string.IsNullOrEmpty(url))
            throw Bad("Required.");
        if (url.Length > MaxUrlLength)
            throw Bad($"At most {MaxUrlLength} characters.");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.IsFile || uri.IsUnc || string.IsNullOrEmpty(uri.Host))
            throw Bad("Must be an absolute URL, e.g. https://ats.example.com/hooks/feedbackhub.");
        if (uri.Scheme != Uri.UriSchemeHttps && !(allowPrivate && uri.Scheme == Uri.UriSchemeHttp))
            throw Bad(allowPrivate ? "The scheme must be https or http." : "The scheme must be https (http is allowed only while the tenant allows private webhook targets, for development).");
        if (!string.IsNullOrEmpty(uri.UserInfo))
            throw Bad("Must not contain user info (user:password@); authenticate the request with the signature.");
        if (url.Contains('#', StringComparison.Ordinal))
            throw Bad("Must not contain a fragment (#...).");
        return uri;
    }

    /// <summary>
    /// Resolves the host (an IP literal is taken as is) and applies <see cref="WebhookAddressPolicy"/> unless private
    /// targets are allowed: refused when the name is refused or ANY of its addresses is.
    /// </summary>
    public static async Task<WebhookResolution> ResolveAsync(string host, bool allowPrivate, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        var bare = host.Trim('[', ']');
        IPAddress[] addresses;
        if (IPAddress.TryParse(bare, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            if (!allowPrivate && WebhookAddressPolicy.RefusalForName(bare) is { } byName)
                return new WebhookResolution([], byName, false);
            if (bare.Length == 0)
                return new WebhookResolution([], null, true);
            try
            {
                addresses = await Dns.GetHostAddressesAsync(bare, ct);
            }
            catch (SocketException)
            {
                return new WebhookResolution([], null, true);
            }

            addresses = addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6).ToArray();
            if (addresses.Length == 0)
                return new WebhookResolution([], null, true);
        }

        if (!allowPrivate)
        {
            foreach (var address in addresses)
            {
                if (WebhookAddressPolicy.Refusal(address) is { } reason)
                    return new WebhookResolution(addresses, $"{(literal is null ? "it resolves to " : string.Empty)}{address}, which is {reason}", false);
            }
        }

        return new WebhookResolution(addresses, null, false);
    }
}
