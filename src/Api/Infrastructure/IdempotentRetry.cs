using FeedbackHub.Domain.Persistence;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// A GET, HEAD or PUT (idempotent by HTTP's rules, and every PUT of this API is) that fails on a transient database
/// failure before its answer has started runs once more, in a fresh scope (a new DbContext and connection). After a
/// PostgreSQL restart the first request meets a dead pooled connection and Npgsql empties the pool, so the second run
/// gets a live connection and the client never sees the restart. A second failure reaches the exception handler: 503
/// with Retry-After. POST and DELETE are not repeated: a repeat can answer differently when the first run committed but
/// its answer was lost.
/// </summary>
internal sealed partial class IdempotentRetry(RequestDelegate next, IServiceScopeFactory scopes, ILogger<IdempotentRetry> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsPut(method))
        {
            await next(context);
            return;
        }

        if (HttpMethods.IsPut(method))
            context.Request.EnableBuffering(); // the second run reads the body again
        try
        {
            await next(context);
            return;
        }
        catch (Exception e) when (DatabaseFailures.IsTransient(e) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            LogRetry(logger, method, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)", e.GetType().Name);
        }

        if (context.Request.Body.CanSeek)
            context.Request.Body.Position = 0;
        context.Response.StatusCode = StatusCodes.Status200OK;
        var requestServices = context.RequestServices;
        await using var scope = scopes.CreateAsyncScope();
        context.RequestServices = scope.ServiceProvider;
        try
        {
            await next(context);
        }
        finally
        {
            context.RequestServices = requestServices;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Route} met a transient database failure ({ExceptionType}); running it once more")]
    private static partial void LogRetry(ILogger logger, string method, string route, string exceptionType);
}
