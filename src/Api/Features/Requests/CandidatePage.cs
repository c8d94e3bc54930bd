using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using FeedbackHub.Domain.Delivery;

namespace FeedbackHub.Api.Features.Requests;

/// <summary>
/// The candidate's page <c>/r/{token}</c>: plain, accessible HTML that works without JavaScript, every value
/// HTML-encoded, and the same security headers on every answer (the page, its form errors, its 429).
/// </summary>
internal static class CandidatePage
{
    private const string Style =
        "body{font-family:system-ui,Arial,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1f2933}"
        + "label{display:block;margin:1rem 0 .25rem;font-weight:600}textarea{width:100%;min-height:6rem;font:inherit}button{font:inherit;padding:.5rem 1rem;margin-top:1rem}"
        + ".error{color:#b00020;font-weight:600;margin:.25rem 0}textarea[aria-invalid=true]{border:2px solid #b00020}";

    private static readonly HtmlEncoder E = HtmlEncoder.Default;

    public static bool IsPagePath(PathString path) => path.StartsWithSegments("/r", StringComparison.OrdinalIgnoreCase);

    public static void SecurityHeaders(HttpResponse response)
    {
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
        response.Headers.CacheControl = "no-store";
    }

    /// <summary>
    /// The page for a link: the request's state, and the form while the candidate can still ask. With
    /// <paramref name="noteError"/> the form comes back with the note as typed and the message tied to the field (422),
    /// announced (an alert) and heard again with the field, which has the focus (no script needed).
    /// </summary>
    public static IResult Render(HttpContext context, CandidateRequestView? view, string token, string? note = null, string? noteError = null)
    {
        var html = new StringBuilder();
        Open(html, noteError is null ? "Feedback on your application" : "Error: Feedback on your application");
        if (view is null)
        {
            html.Append("<h1>This link is not valid</h1><p>It may have expired. Please contact the company that gave it to you.</p>");
        }
        else
        {
            html.Append("<h1>Feedback on your application</h1><p>")
                .Append(E.Encode(view.Position)).Append(" at ").Append(E.Encode(view.Company)).Append("</p>");
            // Once asked, always said: the email may already have gone out (no cooling-off) by the time the page after the post shows.
            if (view.RequestedAt is { } requestedAt)
                html.Append("<p role=\"status\"><strong>You asked for feedback on ").Append(E.Encode(Date(requestedAt))).Append(".</strong></p>");
            html.Append("<p>").Append(E.Encode(view.WhatHappensNext)).Append("</p>");
            if (view.Status == "open")
            {
                html.Append("<form method=\"post\" action=\"/r/").Append(E.Encode(token)).Append("\">")
                    .Append("<label for=\"note\">Anything you would like us to know? (optional)</label>");
                if (noteError is not null)
                    html.Append("<p id=\"note-error\" class=\"error\" role=\"alert\"><span>Error:</span> ").Append(E.Encode(noteError)).Append("</p>");
                html.Append("<textarea id=\"note\" name=\"note\" maxlength=\"").Append(FeedbackRequest.MaxNoteLength).Append('"')
                    .Append(noteError is null ? string.Empty : " aria-invalid=\"true\" aria-describedby=\"note-error\" autofocus").Append('>')
                    .Append(E.Encode(note ?? string.Empty)).Append("</textarea>")
                    .Append("<button type=\"submit\">Ask for feedback</button></form>");
            }
        }

        Close(html);
        SecurityHeaders(context.Response);
        var status = view is null ? StatusCodes.Status404NotFound : noteError is null ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity;
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    /// <summary>After a successful form post: 303 to the page, so reloading shows the state instead of posting again.</summary>
    public static IResult SeeOther(HttpContext context, string token)
    {
        SecurityHeaders(context.Response);
        context.Response.Headers.Location = "/r/" + Uri.EscapeDataString(token);
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    /// <summary>The 429 answer on the page's paths, in words; the caller has set the status and <c>Retry-After</c>.</summary>
    public static async Task WriteTooManyRequestsAsync(HttpContext context, int retryAfterSeconds, CancellationToken ct)
    {
        var wait = retryAfterSeconds < 60
            ? $"{retryAfterSeconds} second{(retryAfterSeconds == 1 ? string.Empty : "s")}"
            : $"{(retryAfterSeconds + 59) / 60} minute{(retryAfterSeconds <= 60 ? string.Empty : "s")}";
        var html = new StringBuilder();
        Open(html, "Please try again in a moment");
        html.Append("<h1>Please try again in a moment</h1>")
            .Append("<p>This page was opened too many times in a short while, so we have paused it briefly to protect your link.</p>");
        if (HttpMethods.IsPost(context.Request.Method))
            html.Append("<p><strong>Your request has not been sent yet.</strong></p>");
        html.Append("<p>Please wait ").Append(E.Encode(wait)).Append(", then open your link again.</p>");
        Close(html);
        SecurityHeaders(context.Response);
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(html.ToString(), Encoding.UTF8, ct);
    }

    private static void Open(StringBuilder html, string title) =>
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E.Encode(title)).Append("</title><style>").Append(Style).Append("</style></head><body><main>");

    private static void Close(StringBuilder html) => html.Append("</main></body></html>");

    private static string Date(DateTimeOffset at) => at.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);
}
