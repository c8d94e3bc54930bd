using System.Text.Json;
using System.Text.RegularExpressions;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Persistence;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// The one place where exceptions become RFC 9457 problem responses. Domain errors keep their message;
/// unreadable requests answer 400/413 with a safe description; a transient database failure (a restart, a failover, a
/// lost connection, a timeout) answers 503 with Retry-After; anything else is a 500 without details.
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
            Microsoft.EntityFrameworkCore.DbUpdateException { InnerException: PostgresException e } when FromRejectedValue(e) is { } p => p,
            PostgresException e when FromRejectedValue(e) is { } p => p,
            _ when DatabaseFailures.IsTransient(exception) => Unavailable(httpContext, exception),
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

    /// <summary>Seconds a client waits before repeating a request that met a transient failure.</summary>
    public const int RetryAfterSeconds = 2;

    private ProblemDetails Unavailable(HttpContext httpContext, Exception exception)
    {
        LogUnavailable(logger, exception.GetType().Name, httpContext.TraceIdentifier);
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ProblemDetails
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Type = Problems.Type("unavailable"),
            Title = "The service is briefly unavailable.",
            Detail = "The database could not be reached (a restart or a failover). Repeat the request after Retry-After.",
        };
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

        if (e.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return new ProblemDetails
            {
                Status = 415,
                Type = Problems.Type("unsupported-media-type"),
                Title = "The request body has an unsupported media type.",
                // Our own refusals (charset, Content-Encoding) say why; the framework's get the one default detail (ApiServiceExtensions).
                Detail = e.Message.StartsWith("Send the body", StringComparison.Ordinal) ? e.Message : null,
            };
        }

        var (detail, parameter) = BindingFailure(e.Message);
        var problem = new ProblemDetails
        {
            Status = e.StatusCode is >= 400 and < 500 ? e.StatusCode : 400,
            Type = Problems.Type("bad-request"),
            Title = "The request could not be read.",
            Detail = detail,
        };
        if (parameter is not null)
            problem.Extensions["errors"] = new Dictionary<string, string[]> { [parameter] = [detail] };
        return problem;
    }

    /// <summary>
    /// Values PostgreSQL refuses (a character its encoding cannot store, a value too long or out of range) are the
    /// client's input, not a fault: 422 without echoing the value. Input validation should have caught them first.
    /// </summary>
    private static ProblemDetails? FromRejectedValue(PostgresException e) =>
        e.SqlState is PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter
            or PostgresErrorCodes.StringDataRightTruncation or PostgresErrorCodes.NumericValueOutOfRange or PostgresErrorCodes.DatetimeFieldOverflow
            ? new ProblemDetails
            {
                Status = StatusCodes.Status422UnprocessableEntity,
                Type = Problems.Type("validation"),
                Title = "The request breaks a rule.",
                Detail = "A value in the request cannot be stored (a character that is not allowed, or a value too long or out of range).",
            }
            : null;

    private static ProblemDetails JsonProblem(JsonException e)
    {
        var path = SafePath(e.Path);
        var message = e.Message;
        string detail;
        var missing = message.IndexOf("missing required properties including:", StringComparison.Ordinal);
        if (missing >= 0)
            detail = "Required properties are missing:" + message[(missing + "missing required properties including:".Length)..].TrimEnd('.');
        else if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
            detail = $"The property at '{path}' appears more than once.";
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
            // Field errors are keyed like every other validation error: "answers[0].comment", not "$.answers[0].comment".
            Extensions = { ["errors"] = new Dictionary<string, string[]> { [path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path] = [detail] } },
        };
    }

    /// <summary>
    /// What a parameter binding failure means, in the API's words: the parameter's name (never its .NET type) and
    /// nothing of the raw value, which may hold anything (CR/LF, markup).
    /// </summary>
    private static (string Detail, string? Parameter) BindingFailure(string message)
    {
        if (message.Contains("no body was provided", StringComparison.Ordinal))
            return ("A JSON request body is required.", null);
        var match = BindingMessage().Match(message);
        if (!match.Success)
            return ("The request could not be read.", null);
        var (type, name) = (match.Groups["type"].Value, match.Groups["name"].Value);
        if (match.Groups["verb"].Value == "Required")
            return ($"The parameter '{name}' is required.", name);
        var expected = type.Replace("Nullable<", string.Empty, StringComparison.Ordinal).TrimEnd('>') switch
        {
            "int" or "long" or "short" => "a whole number",
            "Guid" => "a UUID",
            "DateTimeOffset" or "DateTime" => "an ISO 8601 date-time such as 2026-12-01T09:30:00Z",
            "bool" => "true or false",
            _ => "a value of the documented type",
        };
        return ($"The parameter '{name}' must be {expected}.", name);
    }

    /// <summary>A JSON path from the reader, with anything a client could have smuggled into a property name removed.</summary>
    private static string SafePath(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return "$";
        var clean = new string(path.Select(c => char.IsControl(c) || c is '<' or '>' ? '?' : c).ToArray());
        return clean.Length <= 120 ? clean : clean[..120] + "...";
    }

    [GeneratedRegex(@"^(?<verb>Failed to bind|Required) parameter ""(?<type>[^""]*) (?<name>[A-Za-z0-9_]+)""", RegexOptions.CultureInvariant)]
    private static partial Regex BindingMessage();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request {TraceId} met a transient database failure ({ExceptionType}); answered 503")]
    private static partial void LogUnavailable(ILogger logger, string exceptionType, string traceId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled {ExceptionType} for request {TraceId}")]
    private static partial void LogUnhandled(ILogger logger, string exceptionType, string traceId, Exception exception);
}
