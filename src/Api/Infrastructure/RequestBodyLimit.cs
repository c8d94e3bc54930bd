using Microsoft.AspNetCore.Http.Features;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Caps request bodies at <c>FeedbackHub:MaxRequestBodyBytes</c> whatever the server: a declared
/// Content-Length over the cap answers 413 at once; otherwise the server's own limit (Kestrel) stops
/// chunked bodies while they are read. Both end as a 413 problem via the exception handler.
/// </summary>
internal sealed class RequestBodyLimit(RequestDelegate next, IConfiguration configuration)
{
    private readonly long _limit = configuration.GetValue("FeedbackHub:MaxRequestBodyBytes", ApiServiceExtensions.DefaultMaxRequestBodyBytes);

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength > _limit)
            throw new BadHttpRequestException($"The request body is larger than {_limit} bytes.", StatusCodes.Status413PayloadTooLarge);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            feature.MaxRequestBodySize = _limit;
        return next(context);
    }
}
