using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using FeedbackHub.Api.Features.Requests;
using FeedbackHub.Domain.Delivery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Candidate-facing paths (<c>/v1/public/...</c> and <c>/r/...</c>) are limited per token (keyed by the token's
/// SHA-256) and, more loosely, per client address (after <see cref="ForwardedHeadersSetup"/>; IPv6 by /64), in fixed
/// one-minute windows: <c>FeedbackHub:CandidateRateLimit:PerTokenPerMinute</c> / <c>PerAddressPerMinute</c>.
/// The token limit is checked first, so requests it refuses do not use up the address's permits: one token
/// hammered to its limit leaves the other candidates behind the same address their own requests.
/// Over a limit: 429 with <c>Retry-After</c>, problem JSON on the API, an HTML page on <c>/r/...</c>.
/// Other paths are not limited here.
/// </summary>
internal static class CandidateRateLimits
{
    public const int DefaultPerTokenPerMinute = 20;
    public const int DefaultPerAddressPerMinute = 120;

    public static IServiceCollection AddCandidateRateLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            var perAddress = configuration.GetValue("FeedbackHub:CandidateRateLimit:PerAddressPerMinute", DefaultPerAddressPerMinute);
            var perToken = configuration.GetValue("FeedbackHub:CandidateRateLimit:PerTokenPerMinute", DefaultPerTokenPerMinute);
            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context => IsCandidatePath(context.Request.Path) && Token(context.Request.Path) is { } token
                    ? RateLimitPartition.GetFixedWindowLimiter("token:" + Convert.ToHexString(FeedbackRequestLink.Hash(token)), _ => Window(perToken))
                    : RateLimitPartition.GetNoLimiter(string.Empty)),
                PartitionedRateLimiter.Create<HttpContext, string>(context => IsCandidatePath(context.Request.Path)
                    ? RateLimitPartition.GetFixedWindowLimiter("ip:" + ClientAddress(context.Connection.RemoteIpAddress), _ => Window(perAddress))
                    : RateLimitPartition.GetNoLimiter(string.Empty)));
            options.OnRejected = async (context, ct) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                var http = context.HttpContext;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                if (CandidatePage.IsPagePath(http.Request.Path))
                {
                    await CandidatePage.WriteTooManyRequestsAsync(http, seconds, ct);
                    return;
                }

                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = 429,
                        Type = Problems.Type("too-many-requests"),
                        Title = "Too many requests.",
                        Detail = "Please wait a moment and try again.",
                    },
                });
            };
        });
        return services;
    }

    private static FixedWindowRateLimiterOptions Window(int permits) =>
        new() { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true };

    private static bool IsCandidatePath(PathString path) =>
        path.StartsWithSegments("/v1/public", StringComparison.OrdinalIgnoreCase) || CandidatePage.IsPagePath(path);

    /// <summary>The last path segment (the token); only its hash is kept as a partition key, never the token.</summary>
    private static string? Token(PathString path)
    {
        var value = path.Value ?? string.Empty;
        var slash = value.LastIndexOf('/');
        return slash >= 0 && slash < value.Length - 1 ? value[(slash + 1)..] : null;
    }

    /// <summary>IPv4 as is; IPv6 by its /64 (one subscriber usually holds a whole /64).</summary>
    internal static string ClientAddress(IPAddress? address)
    {
        if (address is null)
            return "unknown";
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
