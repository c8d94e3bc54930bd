namespace FeedbackHub.Domain;

/// <summary>
/// The versions a writer believes current (the API's If-Match, a page's hidden field): <see cref="Versions"/> null for
/// no precondition. <see cref="Unreadable"/> carries why the front door could not read the condition; the use case
/// refuses it (412) at the point where it would compare versions, so a missing resource still answers 404 first.
/// </summary>
public sealed record ExpectedVersion(IReadOnlyCollection<int>? Versions, string? Unreadable = null)
{
    public static ExpectedVersion Any { get; } = new((IReadOnlyCollection<int>?)null);

    public static ExpectedVersion Of(int version) => new([version]);

    /// <summary>Throws 412 <c>stale-version</c> when the condition was unreadable; otherwise the versions to compare.</summary>
    public IReadOnlyCollection<int>? Readable() =>
        Unreadable is { } why ? throw new DomainException(DomainErrorKind.PreconditionFailed, "stale-version", why) : Versions;
}
