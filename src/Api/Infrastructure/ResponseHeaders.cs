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
/// Request bodies are plain UTF-8 JSON (RFC 8259): a declared charset other than UTF-8, or a Content-Encoding this
/// API does not decode, answers 415 instead of the body being misread.
/// </summary>
internal sealed class RequestCharset(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var encoding = context.Request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            throw new BadHttpRequestException("Send the body without a Content-Encoding (this API does not decode compressed bodies).", StatusCodes.Status415UnsupportedMediaType);
        if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            && type.Charset is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw new BadHttpRequestException("Send the body as UTF-8 (charset=utf-8, or no charset).", StatusCodes.Status415UnsupportedMediaType);
        }

        return next(context);
    }
}

/// <summary>
/// Writes every problem as <c>application/problem+json</c>, whatever the request's Accept header says: the framework's
/// writer declines when Accept names only other types (e.g. <c>application/xml</c>), which left an empty error (or a
/// 500). RFC 9110 lets a server answer in the one format it has.
/// </summary>
internal sealed class ProblemJsonWriter(
    Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
    Microsoft.Extensions.Options.IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Status ??= context.HttpContext.Response.StatusCode;
        problem.Title ??= Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        options.Value.CustomizeProblemDetails?.Invoke(context);
        return new ValueTask(context.HttpContext.Response.WriteAsJsonAsync(
            problem, json.Value.SerializerOptions, "application/problem+json", context.HttpContext.RequestAborted));
    }
}
