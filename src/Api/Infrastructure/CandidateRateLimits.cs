using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Candidate-facing paths (<c>/v1/public/...</c> and <c>/r/...</c>) are limited per client address and per token
/// (fixed one-minute windows; <c>FeedbackHub:CandidateRateLimit:PerAddressPerMinute</c> / <c>PerTokenPerMinute</c>).
/// Over the limit: 429 problem with <c>Retry-After</c>. Other paths are not limited here.
/// </summary>
internal static class CandidateRateLimits
{
    public static IServiceCollection AddCandidateRateLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            var perAddress = configuration.GetValue("FeedbackHub:CandidateRateLimit:PerAddressPerMinute", 60);
            var perToken = configuration.GetValue("FeedbackHub:CandidateRateLimit:PerTokenPerMinute", 20);
            options.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context => IsCandidatePath(context.Request.Path)
                    ? RateLimitPartition.GetFixedWindowLimiter("ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown"), _ => Window(perAddress))
                    : RateLimitPartition.GetNoLimiter(string.Empty)),
                PartitionedRateLimiter.Create<HttpContext, string>(context => IsCandidatePath(context.Request.Path) && Token(context.Request.Path) is { } token
                    ? RateLimitPartition.GetFixedWindowLimiter("token:" + token, _ => Window(perToken))
                    : RateLimitPartition.GetNoLimiter(string.Empty)));
            options.OnRejected = async (context, ct) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                var http = context.HttpContext;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
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
        path.StartsWithSegments("/v1/public", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/r", StringComparison.OrdinalIgnoreCase);

    /// <summary>The last path segment (the token); only hashed into a partition key, never logged.</summary>
    private static string? Token(PathString path)
    {
        var value = path.Value ?? string.Empty;
        var slash = value.LastIndexOf('/');
        return slash >= 0 && slash < value.Length - 1 ? value[(slash + 1)..] : null;
    }
}
