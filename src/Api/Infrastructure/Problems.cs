namespace FeedbackHub.Api.Infrastructure;

/// <summary>Stable problem type URIs (RFC 9457 "type"); documented in docs/api.md.</summary>
public static class Problems
{
    public const string TypePrefix = "urn:feedbackhub:problem:";

    public static string Type(string code) => TypePrefix + code;
}
