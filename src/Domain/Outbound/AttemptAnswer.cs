namespace FeedbackHub.Domain.Outbound;

/// <summary>
/// What the other side answered to one attempt. <paramref name="Outcome"/> is Accepted, TransientFailure,
/// PermanentFailure or ServerProblem; <paramref name="Code"/> the SMTP reply code or HTTP status (null: no answer);
/// <paramref name="Reply"/> the answer as text (may quote the address: never logged, never audited);
/// <paramref name="Detail"/> the channel's own word for it; <paramref name="MayHaveBeenAccepted"/>: the connection failed
/// after the whole item was handed over, so the other side may have taken it.
/// </summary>
public sealed record AttemptAnswer(
    AttemptOutcome Outcome, int? Code, string Reply, string? Detail = null, int? DurationMs = null, string? ResponseExcerpt = null,
    bool MayHaveBeenAccepted = false);

/// <summary>
/// How a channel retries: transient failures after <paramref name="FirstBackoff"/>, doubling, at most
/// <paramref name="MaxBackoff"/>, until <paramref name="MaxAttempts"/> of them; server problems (not counted) after the
/// same growing delay capped by <paramref name="ServerProblemRetry"/>, for as long as they last.
/// </summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan FirstBackoff, TimeSpan MaxBackoff, TimeSpan ServerProblemRetry)
{
    /// <summary>The delay after the n-th counted failure: first, doubling, at most <see cref="MaxBackoff"/>.</summary>
    public TimeSpan Backoff(int failures) => Grow(failures, MaxBackoff);

    /// <summary>The delay after the n-th server problem in a row: first, doubling, at most <see cref="ServerProblemRetry"/>.</summary>
    public TimeSpan ServerProblemBackoff(int inARow) => Grow(inARow, ServerProblemRetry < MaxBackoff ? ServerProblemRetry : MaxBackoff);

    private TimeSpan Grow(int n, TimeSpan cap)
    {
        var factor = Math.Pow(2, Math.Min(Math.Max(n, 1) - 1, 30));
        return TimeSpan.FromTicks((long)Math.Min(FirstBackoff.Ticks * factor, cap.Ticks));
    }
}

/// <summary>The channels' names, as stored in <c>outbound.channel</c>.</summary>
public static class OutboundChannels
{
    public const string FeedbackEmail = "feedback-email";
    public const string Invitation = "invitation";
    public const string TestEmail = "test-email";
    public const string PersonEmail = "person-email";
    public const string Webhook = "webhook";
}
