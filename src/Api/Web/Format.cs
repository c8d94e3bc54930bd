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

    /// <summary>An audit action as a line of the timeline: "Feedback submitted", "Email accepted by the mail server".</summary>
    public static string Event(string action) => action switch
    {
        "application.created" => "Application received from the ATS",
        "application.updated" => "Application updated",
        "application.rejected" => "Application rejected",
        "application.legal-hold-set" => "Legal hold set",
        "application.legal-hold-released" => "Legal hold released",
        "feedback.started" => "Feedback started",
        "feedback.saved" => "Feedback saved",
        "feedback.submitted" => "Feedback submitted for approval",
        "feedback.approved" => "Feedback approved",
        "feedback.changes-requested" => "Changes requested",
        "feedback.requested" => "Candidate asked for feedback",
        "delivery.scheduled" => "Feedback email scheduled",
        "delivery.retried" => "Feedback email sent again",
        "delivery.sent" => "Feedback email accepted by the mail server",
        "delivery.failed" => "Feedback email failed",
        "delivery.suppressed" => "Feedback email not sent (address suppressed)",
        "delivery.cancelled" => "Feedback email cancelled",
        "invitation.queued" => "Invitation to ask for feedback queued",
        "invitation.sent" => "Invitation to ask for feedback accepted by the mail server",
        "invitation.failed" => "Invitation to ask for feedback failed",
        "invitation.suppressed" => "Invitation to ask for feedback not sent (address suppressed)",
        "invitation.cancelled" => "Invitation to ask for feedback cancelled",
        "candidate.erased" => "Candidate's personal data erased",
        _ => Humanize(action),
    };

    /// <summary>"template.draft-saved" as "Template draft saved" for actions without their own words.</summary>
    private static string Humanize(string action)
    {
        var words = action.Replace('.', ' ').Replace('-', ' ');
        return words.Length == 0 ? words : char.ToUpperInvariant(words[0]) + words[1..];
    }

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
