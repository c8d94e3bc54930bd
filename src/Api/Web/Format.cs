using System.Globalization;
using FeedbackHub.Domain.Authoring;

namespace FeedbackHub.Api.Web;

/// <summary>How the app words statuses and times (English, UTC).</summary>
public static class Format
{
    public static string Status(FeedbackStatus status) => status switch
    {
        FeedbackStatus.Draft => "Draft",
        FeedbackStatus.Submitted => "Waiting for approval",
        FeedbackStatus.Approved => "Approved",
        FeedbackStatus.ChangesRequested => "Changes requested",
        _ => status.ToString(),
    };

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("d MMM yyyy, HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string? Time(DateTimeOffset? at) => at is { } value ? Time(value) : null;

    /// <summary>"3 days", "5 hours", "a few minutes": how long something has waited.</summary>
    public static string Waited(DateTimeOffset since, DateTimeOffset now)
    {
        var span = now - since;
        return span.TotalDays >= 2 ? $"{(int)span.TotalDays} days"
            : span.TotalHours >= 2 ? $"{(int)span.TotalHours} hours"
            : span.TotalMinutes >= 2 ? $"{(int)span.TotalMinutes} minutes"
            : "a few minutes";
    }
}
