using System.Text.RegularExpressions;

namespace FeedbackHub.Domain.Model;

/// <summary>What the ATS tells about a candidate (personal data: names, email, locale).</summary>
public sealed record CandidateDetails(string ExternalId, string FirstName, string? LastName, string Email, string? Locale)
{
    /// <summary>Trimmed, empty optionals as null, the locale in canonical case (<c>en-gb</c> becomes <c>en-GB</c>).</summary>
    public CandidateDetails Normalized() => new(
        (ExternalId ?? string.Empty).Trim(),
        (FirstName ?? string.Empty).Trim(),
        string.IsNullOrWhiteSpace(LastName) ? null : LastName.Trim(),
        (Email ?? string.Empty).Trim(),
        string.IsNullOrWhiteSpace(Locale) ? null : CanonicalLocale(Locale.Trim()));

    /// <summary>Adds field errors under <paramref name="prefix"/> (e.g. <c>candidate.</c>); expects normalized values.</summary>
    public void Validate(IDictionary<string, string[]> errors, string prefix)
    {
        if (!ExternalIds.IsValid(ExternalId))
            errors[prefix + "externalId"] = [ExternalIds.Rule];
        if (!Names.IsValid(FirstName, required: true))
            errors[prefix + "firstName"] = ["Must have 1 to 100 characters on one line, without control or invisible formatting characters."];
        if (!Names.IsValid(LastName, required: false))
            errors[prefix + "lastName"] = ["Must have at most 100 characters on one line, without control or invisible formatting characters."];
        if (!EmailAddress.IsValid(Email))
            errors[prefix + "email"] = ["Must be a valid email address."];
        if (Locale is not null && !Locales.IsValid(Locale))
            errors[prefix + "locale"] = ["Must be a language tag like 'en', 'en-GB' or 'de'."];
    }

    private static string CanonicalLocale(string locale)
    {
        var dash = locale.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? locale.ToLowerInvariant()
            : locale[..dash].ToLowerInvariant() + "-" + locale[(dash + 1)..].ToUpperInvariant();
    }
}

/// <summary>
/// A person who applied, as the tenant's ATS knows them (<see cref="ExternalId"/> is the ATS's id, unique per tenant).
/// Names, email and locale are personal data; erasure removes them and sets <see cref="ErasedAt"/>. The
/// <see cref="ExternalId"/> stays as a tombstone: a later upsert with it finds the erased candidate and is ignored,
/// so the ATS cannot bring the person back by accident.
/// </summary>
public sealed class Candidate
{
    private Candidate()
    {
        ExternalId = string.Empty;
        FirstName = string.Empty;
        Email = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public string ExternalId { get; private set; }

    public string FirstName { get; private set; }

    public string? LastName { get; private set; }

    public string Email { get; private set; }

    /// <summary>Preferred language of emails (e.g. <c>en-GB</c>); null means the tenant's default.</summary>
    public string? Locale { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    /// <summary>When the personal data was erased; an erased candidate is never filled again.</summary>
    public DateTimeOffset? ErasedAt { get; private set; }

    public bool IsErased => ErasedAt is not null;

    public static Candidate Create(Guid tenantId, CandidateDetails details, DateTimeOffset now)
    {
        details = Valid(details);
        now = Times.Truncate(now);
        return new Candidate
        {
            Id = Guid.CreateVersion7(now),
            TenantId = tenantId,
            ExternalId = details.ExternalId,
            FirstName = details.FirstName,
            LastName = details.LastName,
            Email = details.Email,
            Locale = details.Locale,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>
    /// Takes the ATS's current details; returns the names of the fields that changed (never their values),
    /// empty when nothing did. An erased candidate keeps no personal data: the details are ignored.
    /// </summary>
    public IReadOnlyList<string> ApplyUpsert(CandidateDetails details, DateTimeOffset now)
    {
        details = Valid(details);
        if (!string.Equals(details.ExternalId, ExternalId, StringComparison.Ordinal))
            throw Application.CandidateMismatch();
        if (IsErased)
            return [];

        var changed = new List<string>();
        if (!string.Equals(FirstName, details.FirstName, StringComparison.Ordinal))
        {
            FirstName = details.FirstName;
            changed.Add("firstName");
        }

        if (!string.Equals(LastName, details.LastName, StringComparison.Ordinal))
        {
            LastName = details.LastName;
            changed.Add("lastName");
        }

        if (!string.Equals(Email, details.Email, StringComparison.Ordinal))
        {
            Email = details.Email;
            changed.Add("email");
        }

        if (!string.Equals(Locale, details.Locale, StringComparison.Ordinal))
        {
            Locale = details.Locale;
            changed.Add("locale");
        }

        if (changed.Count > 0)
            UpdatedAt = Times.Truncate(now);
        return changed;
    }

    private static CandidateDetails Valid(CandidateDetails details)
    {
        ArgumentNullException.ThrowIfNull(details);
        details = details.Normalized();
        var errors = new Dictionary<string, string[]>();
        details.Validate(errors, "candidate.");
        if (errors.Count > 0)
            throw new DomainException(DomainErrorKind.Invalid, "validation", "The candidate is not valid.") { Errors = errors };
        return details;
    }
}

/// <summary>Ids that come from other systems (the ATS): 1 to 200 of <c>[A-Za-z0-9._:-]</c>.</summary>
public static partial class ExternalIds
{
    public const string Rule = "Must have 1 to 200 characters, each a letter, a digit, '.', '_', ':' or '-'.";

    public static bool IsValid(string? value) => value is not null && Pattern().IsMatch(value);

    [GeneratedRegex(@"\A[A-Za-z0-9._:\-]{1,200}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>Language tags as used for email: <c>en</c>, <c>en-GB</c>, <c>de</c>, <c>es-419</c>.</summary>
public static partial class Locales
{
    public static bool IsValid(string? value) => value is not null && Pattern().IsMatch(value);

    [GeneratedRegex(@"\A[a-z]{2,3}(-([A-Z]{2}|[0-9]{3}))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

internal static class Names
{
    public static bool IsValid(string? value, bool required) =>
        value is null ? !required : value.Length is >= 1 and <= 100 && TextInput.IsValid(value, TextKind.SingleLine);
}

internal static class Times
{
    /// <summary>To microseconds, what PostgreSQL stores: a value reads back exactly as it was written.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % 10), TimeSpan.Zero);
}
