using Microsoft.Net.Http.Headers;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Headers every answer carries: <c>X-Request-Id</c> (the request's id in the logs, <c>traceId</c> in problems),
/// <c>X-Content-Type-Options: nosniff</c>, and <c>Cache-Control: no-store</c> (API
/// answers and the candidate page hold one-time secrets, exports and personal data that no cache may keep) unless a
/// handler chose its own caching; Swagger UI's static files are left cacheable.
/// </summary>
internal sealed class ResponseHeaders(RequestDelegate next)
{
    public const string RequestId = "X-Request-Id";

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var response = ((HttpContext)state).Response;
            response.Headers[RequestId] = response.HttpContext.TraceIdentifier;
            response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
            if (!response.Headers.ContainsKey(HeaderNames.CacheControl) && !response.HttpContext.Request.Path.StartsWithSegments("/swagger", StringComparison.Ordinal))
                response.Headers.CacheControl = "no-store";
            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}
