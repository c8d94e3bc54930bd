namespace FeedbackHub.Domain.Delivery;

/// <summary>How candidate links and feedback emails are addressed (the API binds it from the <c>FeedbackHub</c> section).</summary>
public sealed class PublicLinkOptions
{
    /// <summary>Public base URL of candidate links (configuration, never the request's Host header).</summary>
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>Right-hand side of feedback emails' Message-IDs.</summary>
    public string MessageIdDomain { get; set; } = "feedbackhub.local";

    /// <summary>The candidate's personal link for a token.</summary>
    public string RequestUrl(string token) => $"{PublicBaseUrl.TrimEnd('/')}/r/{token}";
}
