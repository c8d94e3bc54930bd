using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>
/// The <c>FeedbackHub-Signature</c> header: <c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256&gt;</c>, where the HMAC key is
/// the subscription's secret (the whole <c>whsec_...</c> string, UTF-8) and the signed text is <c>"{t}.{body}"</c> (UTF-8).
/// docs/webhooks.md shows a receiver how to check it, with a worked example that a unit test keeps true.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "FeedbackHub-Signature";

    /// <summary>Lower-case hex HMAC-SHA256 of <c>"{timestamp}.{body}"</c> under the secret.</summary>
    public static string Compute(string secret, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(body);
        var mac = HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(secret),
            Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "." + body));
        return Convert.ToHexStringLower(mac);
    }

    /// <summary>The header value for one attempt.</summary>
    public static string HeaderValue(string secret, long timestamp, string body) => HeaderValue([secret], timestamp, body);

    /// <summary>
    /// The header value signed with each secret (<c>t=...,v1=...,v1=...</c>), current secret first: during a rotation's
    /// overlap a receiver accepts the request when any <c>v1</c> matches its secret.
    /// </summary>
    public static string HeaderValue(IReadOnlyList<string> secrets, long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        return $"t={timestamp.ToString(CultureInfo.InvariantCulture)}" + string.Concat(secrets.Select(s => ",v1=" + Compute(s, timestamp, body)));
    }
}
