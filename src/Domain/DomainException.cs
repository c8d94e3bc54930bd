namespace FeedbackHub.Domain;

/// <summary>What kind of rule a request broke; the API maps each kind to one HTTP status.</summary>
public enum DomainErrorKind
{
    /// <summary>The request is well formed but breaks a business rule (422).</summary>
    Invalid,
    /// <summary>The resource's current state does not allow the operation (409).</summary>
    Conflict,
    /// <summary>The resource does not exist for this tenant (404).</summary>
    NotFound,
    /// <summary>The actor may not do this to this resource (403), e.g. approving their own work.</summary>
    Forbidden,
    /// <summary>An If-Match precondition failed (412).</summary>
    PreconditionFailed,
}

/// <summary>
/// A violated business rule. <see cref="Code"/> is stable (it becomes the problem type's last segment);
/// the message is safe to show to API clients and never contains personal data.
/// </summary>
public class DomainException(DomainErrorKind kind, string code, string message) : Exception(message)
{
    public DomainErrorKind Kind { get; } = kind;

    public string Code { get; } = code;

    /// <summary>Optional field errors (path to messages), shown as the problem's <c>errors</c>.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    /// <summary>Optional extra members of the problem document (e.g. <c>findings</c>).</summary>
    public IReadOnlyDictionary<string, object?>? Extensions { get; init; }

    public static DomainException NotFound(string what) =>
        new(DomainErrorKind.NotFound, "not-found", $"{what} was not found.");

    public static DomainException Invalid(string code, string message) => new(DomainErrorKind.Invalid, code, message);

    public static DomainException Conflict(string code, string message) => new(DomainErrorKind.Conflict, code, message);
}
