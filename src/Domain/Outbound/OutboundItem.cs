namespace FeedbackHub.Domain.Outbound;

/// <summary>Where one thing sent to the outside stands (the same states for every channel; the API names them per resource).</summary>
public enum OutboundStatus
{
    Scheduled,
    Sending,
    Sent,
    Failed,
    Cancelled,
}

/// <summary>What became of one attempt.</summary>
public enum AttemptOutcome
{
    /// <summary>Still running, or the worker died before it recorded the outcome.</summary>
    InProgress,

    /// <summary>The other side took it (SMTP 250 after the final ".", HTTP 2xx).</summary>
    Accepted,

    /// <summary>Try again later (SMTP 4xx, no answer, HTTP error or timeout); counts against the retry budget.</summary>
    TransientFailure,

    /// <summary>Refused for good (this recipient does not exist, a refused webhook target) or not sendable at all.</summary>
    PermanentFailure,

    /// <summary>The worker died between starting the attempt and recording its outcome.</summary>
    Interrupted,

    /// <summary>The worker was stopped before the item was handed over: nothing left, it is sent again (not counted against the budget).</summary>
    NotSent,

    /// <summary>
    /// The mail server or our configuration is wrong (5xx outside RCPT TO, TLS or authentication failures): the operator's
    /// problem. The item waits and is tried again, not counted against the budget; nothing is suppressed.
    /// </summary>
    ServerProblem,
}

/// <summary>
/// One thing sent to the outside (a feedback email, an invitation, a test email, a webhook), in the shape every channel
/// shares: Scheduled at a due time; claimed (Sending, with a lease the worker renews while it sends) and committed before
/// it is handed over; the answer recorded after. Every attempt is kept with its answer. An attempt whose lease ran out was
/// interrupted (its worker died): it is sent again and the item flagged as a possible duplicate, never silently.
/// </summary>
/// <remarks>
/// State changes take a proof of the lock they need: an <see cref="OutboundGuard"/> (for an item sent because of an
/// application, that application's lock; otherwise the item's row) or, for the API's operations on such items, a
/// <see cref="LockedApplication"/>. Only the persistence layer's lock helpers create them.
/// </remarks>
public abstract class OutboundItem
{
    /// <summary>Interrupted attempts after which an item fails instead of looping (a poison message, not a crash).</summary>
    public const int MaxInterruptions = 3;

    private const int MaxReplyLength = 1000;

    private readonly List<OutboundAttempt> _attempts = [];

    protected OutboundItem()
    {
        Channel = string.Empty;
    }

    protected OutboundItem(Guid id, Guid tenantId, string channel, DateTimeOffset dueAt, DateTimeOffset now)
    {
        Id = id;
        TenantId = tenantId;
        Channel = channel;
        Status = OutboundStatus.Scheduled;
        DueAt = dueAt > now ? dueAt : now;
        CreatedAt = now;
        UpdatedAt = now;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    /// <summary>Which way out (<see cref="OutboundChannels"/>); the worker's channel of that name sends it.</summary>
    public string Channel { get; private set; }

    public OutboundStatus Status { get; private set; }

    /// <summary>When Scheduled: not sent before this time (a lost message moves it to when it was queued again).</summary>
    public DateTimeOffset DueAt { get; private set; }

    /// <summary>While Sending: the worker renews it while the attempt is alive; once it has run out, recovery counts the attempt as interrupted.</summary>
    public DateTimeOffset? LeaseUntil { get; private set; }

    /// <summary>An attempt ended after the item was handed over but before its answer was recorded: the other side may have it twice.</summary>
    public bool PossibleDuplicate { get; private set; }

    /// <summary>The last answer (e.g. "250 2.0.0 OK"), or why nothing was sent.</summary>
    public string? LastReply { get; private set; }

    public DateTimeOffset? SentAt { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    public IReadOnlyList<OutboundAttempt> Attempts => _attempts;

    /// <summary>The application whose lock guards this item's state, when it is sent because of one.</summary>
    public virtual Guid? GuardingApplicationId => null;

    /// <summary>Scheduled and due (with a tolerance for clock differences between hosts).</summary>
    public bool IsDue(DateTimeOffset now, TimeSpan tolerance) => Status == OutboundStatus.Scheduled && DueAt <= now + tolerance;

    /// <summary>
    /// Claims the item for one attempt and returns the attempt's number; null when it is not Scheduled (sent, failed,
    /// cancelled, or Sending whatever its lease: only recovery takes an attempt over, because only it knows whether the
    /// lease ran out while its worker could still renew it).
    /// </summary>
    public int? TryClaim(OutboundGuard guard, DateTimeOffset now, TimeSpan lease)
    {
        Check(guard);
        if (Status != OutboundStatus.Scheduled)
            return null;
        Status = OutboundStatus.Sending;
        LeaseUntil = now + lease;
        var attempt = OutboundAttempt.Start(this, _attempts.Count + 1, now);
        _attempts.Add(attempt);
        UpdatedAt = now;
        return attempt.Number;
    }

    /// <summary>
    /// Moves the lease of the attempt in progress to <paramref name="until"/>: a claim of many items sets their leases
    /// once it has prepared them all, so that none has aged by its commit. Callers hold the item's lock.
    /// </summary>
    public void HoldLeaseUntil(OutboundGuard guard, DateTimeOffset until)
    {
        Check(guard);
        if (Status != OutboundStatus.Sending)
            throw new InvalidOperationException($"Outbound item {Id} is {Status}; only an attempt in progress has a lease.");
        LeaseUntil = until;
    }

    /// <summary>
    /// Records the answer to the attempt in progress. Accepted: Sent. PermanentFailure: Failed. TransientFailure: due
    /// again after a growing delay, or Failed once the budget is spent (flagged a possible duplicate when the item may
    /// have been taken before the connection failed). ServerProblem: due again after a delay capped by
    /// <see cref="RetryPolicy.ServerProblemRetry"/>, not counted. Returns the next due time, if any.
    /// </summary>
    public DateTimeOffset? RecordAnswer(OutboundGuard guard, AttemptAnswer answer, RetryPolicy policy, DateTimeOffset now)
    {
        Check(guard);
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(policy);
        var attempt = CurrentAttempt ?? throw new InvalidOperationException($"Outbound item {Id} has no attempt in progress.");
        attempt.Finish(answer, now);
        LastReply = Cut(answer.Reply);
        LeaseUntil = null;
        UpdatedAt = now;
        if (answer.MayHaveBeenAccepted && answer.Outcome != AttemptOutcome.Accepted)
            PossibleDuplicate = true;
        switch (answer.Outcome)
        {
            case AttemptOutcome.Accepted:
                Status = OutboundStatus.Sent;
                SentAt = now;
                return null;
            case AttemptOutcome.PermanentFailure:
                Status = OutboundStatus.Failed;
                return null;
            case AttemptOutcome.ServerProblem:
                attempt.Forgive();
                var waiting = _attempts.AsEnumerable().Reverse().TakeWhile(a => a.Outcome == AttemptOutcome.ServerProblem).Count();
                return ScheduleAt(now + policy.ServerProblemBackoff(waiting), now);
            case AttemptOutcome.TransientFailure:
                var failures = _attempts.Count(a => a.Outcome == AttemptOutcome.TransientFailure && a.CountsAgainstBudget);
                if (failures >= policy.MaxAttempts)
                {
                    Status = OutboundStatus.Failed;
                    return null;
                }

                return ScheduleAt(now + policy.Backoff(failures), now);
            default:
                throw new ArgumentException($"An answer cannot be {answer.Outcome}.", nameof(answer));
        }
    }

    /// <summary>
    /// The worker was stopped (shutdown, broker connection lost) or failed before the item was handed over: the attempt
    /// is recorded as not sent, does not count against the budget, and the item is due again at once (or at
    /// <paramref name="dueAt"/>). Not a possible duplicate.
    /// </summary>
    public void ReleaseUnsent(OutboundGuard guard, DateTimeOffset now, DateTimeOffset? dueAt = null)
    {
        Check(guard);
        if (Status != OutboundStatus.Sending)
            return;
        if (CurrentAttempt is { } attempt)
        {
            attempt.Finish(new AttemptAnswer(AttemptOutcome.NotSent, null, "The worker stopped before it was handed over; nothing was sent."), now);
            attempt.Forgive();
        }

        ScheduleAt(dueAt is { } due && due > now ? due : now, now);
        LeaseUntil = null;
    }

    /// <summary>
    /// The attempt's lease ran out (its worker died mid-attempt): record it, flag a possible duplicate, and send again, at
    /// most <see cref="MaxInterruptions"/> times. False when the item is not Sending.
    /// </summary>
    public bool Interrupt(OutboundGuard guard, DateTimeOffset now)
    {
        Check(guard);
        if (Status != OutboundStatus.Sending)
            return false;
        CurrentAttempt?.Finish(new AttemptAnswer(AttemptOutcome.Interrupted, null, "The worker stopped during this attempt; the other side may have received it."), now);
        PossibleDuplicate = true;
        LeaseUntil = null;
        UpdatedAt = now;
        if (_attempts.Count(a => a.Outcome == AttemptOutcome.Interrupted && a.CountsAgainstBudget) >= MaxInterruptions)
        {
            Status = OutboundStatus.Failed;
            LastReply = $"Stopped after {MaxInterruptions} interrupted attempts; look at the worker's error queue and logs, then retry.";
            return true;
        }

        ScheduleAt(now, now);
        return true;
    }

    /// <summary>
    /// Still Scheduled long after its due time: its message was lost (a purged or dead-lettered queue). Due now again, so
    /// a new message finds it due (<see cref="DueAt"/> then says since when). False when it is not Scheduled.
    /// </summary>
    public bool RequeueLost(OutboundGuard guard, DateTimeOffset now)
    {
        Check(guard);
        if (Status != OutboundStatus.Scheduled)
            return false;
        ScheduleAt(now, now);
        return true;
    }

    /// <summary>Cancels a Scheduled item (the worker found it no longer wanted when it came to send it).</summary>
    public void Cancel(OutboundGuard guard, DateTimeOffset now)
    {
        Check(guard);
        CancelScheduled(now);
    }

    /// <summary>Cancels a Scheduled item; 409 <c>not-scheduled</c> otherwise. Callers hold the item's lock.</summary>
    protected void CancelScheduled(DateTimeOffset now)
    {
        if (Status != OutboundStatus.Scheduled)
            throw DomainException.Conflict(NotScheduledCode, $"Only a scheduled {Noun} can be cancelled; this one is {Status}.");
        Status = OutboundStatus.Cancelled;
        LeaseUntil = null;
        UpdatedAt = now;
    }

    /// <summary>The problem code when a cancel finds the item not Scheduled.</summary>
    protected virtual string NotScheduledCode => "not-scheduled";

    /// <summary>What the item is called in messages ("delivery", "invitation").</summary>
    protected virtual string Noun => "item";

    /// <summary>Due again now with a fresh budget (a manual retry or redelivery): earlier failures and interruptions are forgiven.</summary>
    protected void ScheduleAgain(DateTimeOffset now)
    {
        foreach (var a in _attempts.Where(a => a.Outcome is AttemptOutcome.TransientFailure or AttemptOutcome.Interrupted or AttemptOutcome.PermanentFailure or AttemptOutcome.Accepted))
            a.Forgive();
        ScheduleAt(now, now);
    }

    /// <summary>What is left of a reply once the candidate's data is erased: its code only (replies can quote the address).</summary>
    /// <remarks>The erasure applies the same rule to stored replies in SQL (<c>CandidateErasure</c>); a test holds the two equal.</remarks>
    public static string ErasedReply(string? reply) =>
        reply is { Length: >= 3 } r && char.IsAsciiDigit(r[0]) && char.IsAsciiDigit(r[1]) && char.IsAsciiDigit(r[2])
            ? r[..3] + " " + ErasedReplyText
            : ErasedReplyText;

    /// <summary>What stands where an erased reply's text was.</summary>
    public const string ErasedReplyText = "(reply text erased with the candidate's personal data)";

    /// <summary>The attempt in progress, if any.</summary>
    public OutboundAttempt? CurrentAttempt => _attempts.LastOrDefault(a => a.Outcome == AttemptOutcome.InProgress);

    /// <summary>The attempt with this number (attempts are numbered from 1).</summary>
    public OutboundAttempt? Attempt(int number) => _attempts.FirstOrDefault(a => a.Number == number);

    private DateTimeOffset ScheduleAt(DateTimeOffset dueAt, DateTimeOffset now)
    {
        Status = OutboundStatus.Scheduled;
        DueAt = dueAt;
        UpdatedAt = now;
        return dueAt;
    }

    private void Check(OutboundGuard guard)
    {
        ArgumentNullException.ThrowIfNull(guard);
        if (guard.ItemId != Id)
            throw new InvalidOperationException($"The guard is for outbound item {guard.ItemId}, not {Id}.");
        if (GuardingApplicationId is { } applicationId && guard.Application?.ApplicationId != applicationId)
            throw new InvalidOperationException($"Outbound item {Id} changes only under its application's lock ({applicationId}).");
    }

    internal static string? Cut(string? text) => text is { Length: > MaxReplyLength } ? text[..MaxReplyLength] : text;
}

/// <summary>One attempt and the other side's answer.</summary>
public sealed class OutboundAttempt
{
    public const int MaxDetailLength = 40;
    public const int MaxExcerptLength = 256;

    private OutboundAttempt()
    {
    }

    public Guid Id { get; private set; }

    public Guid OutboundId { get; private set; }

    public Guid TenantId { get; private set; }

    public int Number { get; private set; }

    public DateTimeOffset StartedAt { get; private set; }

    public DateTimeOffset? FinishedAt { get; private set; }

    public AttemptOutcome Outcome { get; private set; }

    /// <summary>The answer's code: the SMTP reply code, the HTTP status; null when there was no answer.</summary>
    public int? Code { get; private set; }

    /// <summary>The answer as text ("250 2.0.0 OK"), or what happened instead.</summary>
    public string? Reply { get; private set; }

    /// <summary>The channel's own word for the outcome (a webhook's <c>http-error</c>, an SMTP stage), if it has one.</summary>
    public string? Detail { get; private set; }

    /// <summary>How long the hand-over took, in milliseconds (webhooks).</summary>
    public int? DurationMs { get; private set; }

    /// <summary>The start of the answer's body (webhooks, at most 256 characters).</summary>
    public string? ResponseExcerpt { get; private set; }

    /// <summary>Counted against the retry budget (false after a manual retry, for attempts never handed over, and for server problems).</summary>
    public bool CountsAgainstBudget { get; private set; } = true;

    internal static OutboundAttempt Start(OutboundItem item, int number, DateTimeOffset now) =>
        new() { Id = Guid.CreateVersion7(now), OutboundId = item.Id, TenantId = item.TenantId, Number = number, StartedAt = now, Outcome = AttemptOutcome.InProgress };

    internal void Finish(AttemptAnswer answer, DateTimeOffset now)
    {
        Outcome = answer.Outcome;
        Code = answer.Code;
        Reply = OutboundItem.Cut(answer.Reply);
        Detail = answer.Detail is { Length: > MaxDetailLength } d ? d[..MaxDetailLength] : answer.Detail;
        DurationMs = answer.DurationMs;
        ResponseExcerpt = string.IsNullOrEmpty(answer.ResponseExcerpt) ? null
            : answer.ResponseExcerpt.Length > MaxExcerptLength ? answer.ResponseExcerpt[..MaxExcerptLength] : answer.ResponseExcerpt;
        FinishedAt = now;
    }

    internal void Forgive() => CountsAgainstBudget = false;
}
