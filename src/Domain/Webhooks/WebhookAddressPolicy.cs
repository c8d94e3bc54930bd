using System.Net;
using System.Net.Sockets;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>
/// Which webhook targets are refused (server-side request forgery): loopback, unspecified, link-local (including the
/// cloud metadata address 169.254.169.254), private, carrier-grade NAT, multicast, broadcast and reserved ranges, and
/// IPv6 addresses that embed such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4). A tenant setting meant
/// for development (<c>AllowPrivateWebhookTargets</c>) lifts the rule. Pure: no DNS here; callers resolve and ask.
/// </summary>
public static class WebhookAddressPolicy
{
    private static readonly (byte[] Prefix, int Bits, string Reason)[] BlockedV4 =
    [
        ([0, 0, 0, 0], 8, "unspecified (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
        ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
        ([169, 254, 0, 0], 16, "link-local or cloud metadata (169.254.0.0/16)"),
        ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments (192.0.0.0/24)"),
        ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
        ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
        ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
        ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
        ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
        ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
        ([240, 0, 0, 0], 4, "reserved or broadcast (240.0.0.0/4)"),
    ];

    private static readonly (byte[] Prefix, int Bits, string Reason)[] BlockedV6 =
    [
        (Bytes("fe80::"), 10, "link-local (fe80::/10)"),
        (Bytes("fec0::"), 10, "site-local (fec0::/10)"),
        (Bytes("fc00::"), 7, "unique local / private (fc00::/7)"),
        (Bytes("ff00::"), 8, "multicast (ff00::/8)"),
        (Bytes("64:ff9b:1::"), 48, "local-use NAT64 (64:ff9b:1::/48)"),
        (Bytes("100::"), 64, "discard-only (100::/64)"),
        (Bytes("2001:db8::"), 32, "documentation (2001:db8::/32)"),
        (Bytes("2001::"), 23, "IETF protocol assignments (2001::/23)"),
    ];

    /// <summary>Host names refused by name, before any DNS lookup (RFC 6761 and cloud metadata names).</summary>
    private static readonly string[] BlockedNames = ["localhost", "metadata.google.internal", "metadata", "instance-data"];

    private static readonly string[] BlockedSuffixes = [".localhost", ".internal", ".local", ".localdomain", ".home.arpa"];

    /// <summary>Why the address is refused, or null when it may be a webhook target.</summary>
    public static string? Refusal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetwork)
            return RefusalV4(address.GetAddressBytes());
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return "not an IP address";

        var b = address.GetAddressBytes();
        if (address.Equals(IPAddress.IPv6Loopback))
            return "loopback (::1)";
        if (address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any))
            return "unspecified (::)";
        if (address.IsIPv4MappedToIPv6)
            return Embedded("IPv4-mapped", b[12..16]);
        if (b.Take(12).All(x => x == 0))
            return Embedded("IPv4-compatible", b[12..16]);
        if (Matches(b, Bytes("64:ff9b::"), 96))
            return Embedded("NAT64", b[12..16]);
        if (Matches(b, Bytes("2002::"), 16))
            return Embedded("6to4", b[2..6]);
        foreach (var (prefix, bits, reason) in BlockedV6)
        {
            if (Matches(b, prefix, bits))
                return reason;
        }

        return null;
    }

    /// <summary>Why the host name is refused by name alone, or null. IP literals are checked with <see cref="Refusal(IPAddress)"/>.</summary>
    public static string? RefusalForName(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var name = host.Trim().TrimEnd('.').ToLowerInvariant();
        if (name.Length == 0)
            return "empty host name";
        if (BlockedNames.Contains(name, StringComparer.Ordinal))
            return $"the host name '{name}' names this machine or a metadata service";
        foreach (var suffix in BlockedSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
                return $"host names ending in '{suffix}' are local names";
        }

        return null;
    }

    private static string? Embedded(string kind, byte[] v4)
    {
        var inner = RefusalV4(v4);
        return inner is null ? null : $"{kind} IPv6 address of an IPv4 address that is {inner}";
    }

    private static string? RefusalV4(byte[] b)
    {
        foreach (var (prefix, bits, reason) in BlockedV4)
        {
            if (Matches(b, prefix, bits))
                return reason;
        }

        return null;
    }

    private static bool Matches(byte[] address, byte[] prefix, int bits)
    {
        if (address.Length != prefix.Length)
            return false;
        var whole = bits / 8;
        for (var i = 0; i < whole; i++)
        {
            if (address[i] != prefix[i])
                return false;
        }

        var rest = bits % 8;
        if (rest == 0)
            return true;
        var mask = (byte)(0xFF << (8 - rest));
        return (address[whole] & mask) == (prefix[whole] & mask);
    }

    private static byte[] Bytes(string ipv6) => IPAddress.Parse(ipv6).GetAddressBytes();
}
