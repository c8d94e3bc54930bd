using Microsoft.Net.Http.Headers;

namespace FeedbackHub.Api.Infrastructure;

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
