using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Infrastructure;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FeedbackHub.Api.Web;

/// <summary>The text a feedback form checks while the person types.</summary>
public sealed record LiveCheckRequest([FreeText] string? Text);

/// <summary>
/// <c>POST /app/api/language/check</c>: the feedback form's check while typing, for a signed-in author. The same
/// handler as <c>POST /v1/language/check</c> (tenant rules, full engine), behind the session cookie and the
/// antiforgery header instead of an API key; not part of the public API document.
/// </summary>
public static class LiveLanguageCheck
{
    public const string Path = WebApp.Prefix + "/api/language/check";

    /// <summary>Longer than any comment a template allows (2,000), so a pasted answer is still checked whole.</summary>
    public const int MaxLength = 10_000;

    public static IEndpointRouteBuilder MapLiveLanguageCheck(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, CheckLiveText)
            .RequireAuthorization(WebApp.SessionPolicy, Policies.FeedbackAuthors)
            .ExcludeFromDescription();
        return app;
    }

    public static async Task<Results<Ok<CheckTextResponse>, ProblemHttpResult>> CheckLiveText(
        LiveCheckRequest request, HttpContext context, IAntiforgery antiforgery, CurrentActor caller, FeedbackHubDbContext db, TenantLanguage language,
        CancellationToken ct)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The page's security token is missing or expired; reload the page.");
        }

        var text = request.Text ?? string.Empty;
        if (text.Length > MaxLength)
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: $"Check at most {MaxLength} characters at a time.");
        return await LanguageEndpoints.CheckText(new CheckTextRequest(text), caller, db, language, ct);
    }
}
