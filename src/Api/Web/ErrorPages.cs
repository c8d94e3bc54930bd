using System.Text.Encodings.Web;
using FeedbackHub.Domain;
using Microsoft.AspNetCore.Diagnostics;

namespace FeedbackHub.Api.Web;

/// <summary>
/// The app's error pages (404, 403, 400, 500...) as plain HTML with the app's stylesheet, where the API answers a problem
/// document: written by the API's status-code and exception handling for the app's page paths. Never a stack trace.
/// </summary>
public static class ErrorPages
{
    public static (string Title, string Detail) Describe(int status) => status switch
    {
        404 => ("Not found", "There is nothing here, or it belongs to another organisation. Check the link, or find it from My work."),
        403 => ("Not allowed", "Your roles do not allow this. Ask an admin if you need it."),
        400 => ("That did not work", "The form had expired or was not understood. Go back, reload the page and try again."),
        429 => ("Too many requests", "Wait a minute and try again."),
        _ => ("Something went wrong", "The error was logged. Try again in a moment."),
    };

    public static Task WriteAsync(HttpContext context, int status)
    {
        var (title, detail) = Describe(status);
        var e = HtmlEncoder.Default;
        var reference = status >= 500 ? $"<p class=\"hint\">If you report this, quote the reference <code>{e.Encode(context.TraceIdentifier)}</code>.</p>" : string.Empty;
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + $"<title>{e.Encode(title)} · FeedbackHub</title><link rel=\"icon\" href=\"{e.Encode(WebApp.AssetUrl("favicon.svg"))}\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"{e.Encode(WebApp.AssetUrl("app.css"))}\"></head>"
            + "<body><header class=\"top\"><a class=\"brand\" href=\"/app/\">FeedbackHub</a></header><main id=\"main\"><div class=\"narrow\">"
            + $"<h1>{e.Encode(title)}</h1><p>{e.Encode(detail)}</p>{reference}<p><a href=\"/app/\">Go to My work</a></p></div></main></body></html>");
    }

    /// <summary>An exception on a page: a missing or forbidden resource is its status; anything else a logged 500.</summary>
    internal sealed class Handler(ILogger<Handler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (!WebApp.IsPagePath(httpContext.Request.Path))
                return false;
            var status = exception switch
            {
                DomainException { Kind: DomainErrorKind.NotFound } => 404,
                DomainException { Kind: DomainErrorKind.Forbidden } => 403,
                BadHttpRequestException bad => bad.StatusCode,
                _ => 500,
            };
            if (status == 500)
                logger.LogError(exception, "Unhandled {ExceptionType} on a web app page (trace {TraceId})", exception.GetType().Name, httpContext.TraceIdentifier);
            await WriteAsync(httpContext, status);
            return true;
        }
    }
}
