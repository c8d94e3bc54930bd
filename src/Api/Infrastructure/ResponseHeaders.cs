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

/// <summary>
/// Request bodies are UTF-8 JSON (RFC 8259): a declared charset other than UTF-8 answers 415 instead of being read
/// as UTF-8 regardless.
/// </summary>
internal sealed class RequestCharset(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            && type.Charset is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw new BadHttpRequestException("Send the body as UTF-8 (charset=utf-8, or no charset).", StatusCodes.Status415UnsupportedMediaType);
        }

        return next(context);
    }
}
