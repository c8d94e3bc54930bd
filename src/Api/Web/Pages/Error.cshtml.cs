using Microsoft.AspNetCore.Diagnostics;

namespace FeedbackHub.Api.Web.Pages;

/// <summary>The app's error page, for a status (404, 403) or an unexpected failure; never a stack trace.</summary>
public sealed class ErrorModel : AppPageModel
{
    public string Title { get; private set; } = "Something went wrong";

    public string Detail { get; private set; } = "The error was logged. Try again in a moment.";

    public string? RequestId { get; private set; }

    public void OnGet(int? status) => Describe(status);

    public void OnPost(int? status) => Describe(status);

    private void Describe(int? status)
    {
        var failure = HttpContext.Features.Get<IExceptionHandlerFeature>()?.Error;
        var code = status ?? HttpContext.Features.Get<IStatusCodeReExecuteFeature>()?.OriginalStatusCode ?? failure switch
        {
            Domain.DomainException { Kind: Domain.DomainErrorKind.NotFound } => 404,
            Domain.DomainException { Kind: Domain.DomainErrorKind.Forbidden } => 403,
            _ => 500,
        };
        (Title, Detail) = code switch
        {
            404 => ("Not found", "There is nothing here, or it belongs to someone else's organisation. Check the link, or find it from My work."),
            403 => ("Not allowed", "Your roles do not allow this. Ask an admin if you need it."),
            400 => ("That did not work", "The request was not understood; reload the page and try again."),
            _ => (Title, Detail),
        };
        if (code >= 500)
            RequestId = HttpContext.TraceIdentifier;
        Response.StatusCode = code;
    }
}
