using System.Text.Json;
using FeedbackHub.Domain;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// The one place where exceptions become RFC 9457 problem responses. Domain errors keep their message;
/// unreadable requests answer 400/413 with a safe description; anything else is a 500 without details.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            DomainException e => FromDomain(e),
            Microsoft.EntityFrameworkCore.DbUpdateConcurrencyException => new ProblemDetails
            {
                Status = StatusCodes.Status412PreconditionFailed,
                Type = Problems.Type("stale-version"),
                Title = "Precondition failed.",
                Detail = "Someone else changed this resource at the same time; reload it and apply your change again.",
            },
            BadHttpRequestException e => FromBadRequest(e),
            JsonException e => JsonProblem(e),
            _ => null,
        };
        if (problem is null)
        {
            LogUnhandled(logger, exception.GetType().Name, httpContext.TraceIdentifier, exception);
            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Type = Problems.Type("internal"),
                Title = "An unexpected error occurred.",
                Detail = "The error was logged; quote the traceId when you report it.",
            };
        }

        httpContext.Response.StatusCode = problem.Status ?? 500;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    private static ProblemDetails FromDomain(DomainException e)
    {
        var (status, title) = e.Kind switch
        {
            DomainErrorKind.NotFound => (StatusCodes.Status404NotFound, "Not found."),
            DomainErrorKind.Conflict => (StatusCodes.Status409Conflict, "Conflict with the current state."),
            DomainErrorKind.Forbidden => (StatusCodes.Status403Forbidden, "Not allowed."),
            DomainErrorKind.PreconditionFailed => (StatusCodes.Status412PreconditionFailed, "Precondition failed."),
            _ => (StatusCodes.Status422UnprocessableEntity, "The request breaks a rule."),
        };
        var problem = new ProblemDetails { Status = status, Type = Problems.Type(e.Code), Title = title, Detail = e.Message };
        if (e.Errors is not null)
            problem.Extensions["errors"] = e.Errors;
        foreach (var (name, value) in e.Extensions ?? new Dictionary<string, object?>())
            problem.Extensions[name] = value is IEnumerable<Domain.Language.FieldFinding> findings ? Features.Language.FindingResponse.From(findings) : value;
        return problem;
    }

    private static ProblemDetails FromBadRequest(BadHttpRequestException e)
    {
        if (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new ProblemDetails
            {
                Status = 413,
                Type = Problems.Type("payload-too-large"),
                Title = "The request body is too large.",
                Detail = e.Message.StartsWith("The request body is larger", StringComparison.Ordinal) ? e.Message : "The request body is larger than this API accepts.",
            };
        }

        if (e.InnerException is JsonException json)
            return JsonProblem(json);

        return new ProblemDetails
        {
            Status = e.StatusCode is >= 400 and < 500 ? e.StatusCode : 400,
            Type = Problems.Type("bad-request"),
            Title = "The request could not be read.",
            Detail = SafeBindingMessage(e.Message),
        };
    }

    private static ProblemDetails JsonProblem(JsonException e)
    {
        var path = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
        var message = e.Message;
        string detail;
        var missing = message.IndexOf("missing required properties including:", StringComparison.Ordinal);
        if (missing >= 0)
            detail = "Required properties are missing:" + message[(missing + "missing required properties including:".Length)..].TrimEnd('.');
        else if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
            detail = $"Unknown property at '{path}'.";
        else if (message.Contains("could not be converted", StringComparison.Ordinal))
            detail = $"The value at '{path}' has the wrong type or format.";
        else if (message.Contains("null value", StringComparison.OrdinalIgnoreCase) || message.Contains("allow null", StringComparison.OrdinalIgnoreCase))
            detail = $"The value at '{path}' must not be null.";
        else
            detail = "The body is not valid JSON.";

        return new ProblemDetails
        {
            Status = 400,
            Type = Problems.Type("invalid-json"),
            Title = "The request body could not be read.",
            Detail = detail,
            Extensions = { ["errors"] = new Dictionary<string, string[]> { [path] = [detail] } },
        };
    }

    /// <summary>ASP.NET's binding messages name the parameter and value, which is what a client needs; nothing else.</summary>
    private static string SafeBindingMessage(string message) =>
        message.Contains("no body was provided", StringComparison.Ordinal) ? "A JSON request body is required."
        : message.Length > 300 ? message[..300] : message;

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled {ExceptionType} for request {TraceId}")]
    private static partial void LogUnhandled(ILogger logger, string exceptionType, string traceId, Exception exception);
}
