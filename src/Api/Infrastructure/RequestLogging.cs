using System.Diagnostics;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// One structured line per request with the route template, never the raw path or query
/// (paths can hold tokens), status and duration. Framework request logs are turned down in appsettings.
/// </summary>
internal sealed partial class RequestLogging(RequestDelegate next, ILogger<RequestLogging> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
                var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Log(logger, context.Request.Method, route, context.Response.StatusCode, elapsedMs);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Method} {Route} answered {StatusCode} in {ElapsedMs:0.0} ms")]
    private static partial void Log(ILogger logger, string method, string route, int statusCode, double elapsedMs);
}
