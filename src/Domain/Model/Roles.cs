namespace FeedbackHub.Domain.Model;

/// <summary>The roles an API key can carry (DESIGN.md, "Who uses it").</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Recruiter = "recruiter";
    public const string Interviewer = "interviewer";
    public const string Legal = "legal";
    public const string Integration = "integration";

    public static IReadOnlyList<string> All { get; } = [Admin, Recruiter, Interviewer, Legal, Integration];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}
