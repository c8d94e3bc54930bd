using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>The API's own signals beside the shared ones (<c>AddFeedbackHubTelemetry</c>): ASP.NET Core and HttpClient (webhook pings).</summary>
internal static class ApiTelemetry
{
    public static void Tracing(TracerProviderBuilder tracing) => tracing
        .AddAspNetCoreInstrumentation(o =>
        {
            // Probes every few seconds per pod are not traces anyone reads.
            o.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal);
            // Paths can hold candidates' link tokens (/r/{token}): spans carry the route template, never the raw path.
            o.EnrichWithHttpResponse = (activity, response) => activity.SetTag("url.path", RouteOf(response.HttpContext));
        })
        .AddHttpClientInstrumentation();

    public static void Metrics(MeterProviderBuilder metrics) => metrics
        .AddAspNetCoreInstrumentation()
        .AddHttpClientInstrumentation();

    internal static string RouteOf(HttpContext context) =>
        (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
}
