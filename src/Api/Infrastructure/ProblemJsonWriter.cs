namespace FeedbackHub.Api.Infrastructure;

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
