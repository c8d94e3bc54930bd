namespace FeedbackHub.Domain.Model;

/// <summary>The roles an API key or a person can carry (DESIGN.md, "Who uses it").</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Recruiter = "recruiter";
    public const string Interviewer = "interviewer";
    public const string Legal = "legal";
    public const string Integration = "integration";

    public static IReadOnlyList<string> All { get; } = [Admin, Recruiter, Interviewer, Legal, Integration];

    /// <summary>The roles a person can hold: every role but <see cref="Integration"/>, which is for systems.</summary>
    public static IReadOnlyList<string> ForPeople { get; } = [Admin, Recruiter, Interviewer, Legal];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    /// <summary>
    /// The one check of a requested role list: at least one, each one of <paramref name="allowed"/> (named by position,
    /// never echoed). Adds what is wrong to <paramref name="errors"/> and returns the distinct roles in order.
    /// </summary>
    public static string[] Validate(IEnumerable<string>? roles, IReadOnlyList<string> allowed, Dictionary<string, string[]> errors)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        ArgumentNullException.ThrowIfNull(errors);
        var given = (roles ?? []).ToList();
        if (given.Count == 0)
            errors["roles"] = ["At least one role is required."];
        for (var i = 0; i < given.Count; i++)
        {
            if (given[i] is null || !allowed.Contains(given[i], StringComparer.Ordinal))
                errors[$"roles[{i}]"] = [$"Not a role. Known roles: {string.Join(", ", allowed)}."];
        }

        return given.Where(r => r is not null).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }
}
