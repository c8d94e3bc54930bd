namespace FeedbackHub.Domain.Delivery;

public enum DeliveryStatus
{
    Scheduled,
    Sending,
    Sent,
    Failed,
    Cancelled,
}

public enum AttemptOutcome
{
    /// <summary>Still running, or the worker died before it recorded the outcome.</summary>
    InProgress,
    Accepted,
    TransientFailure,
    PermanentFailure,
    /// <summary>The worker died between starting the SMTP send and recording its outcome.</summary>
    Interrupted,
    /// <summary>The worker was stopped before the email was handed to the SMTP server: nothing left, it is sent again (not counted against the budget).</summary>
    NotSent,
}

/// <summary>
/// Sending one approved feedback to the candidate who asked for it. Scheduled at a due time; marked Sending
/// (with a lease its worker renews) before SMTP and Sent after; 4xx and connection failures are retried with growing
/// backoff; a 5xx fails it at once. A Sending delivery whose lease ran out was interrupted (its worker died): it is sent
/// again and flagged as a possible duplicate, never silently.
/// </summary>
public sealed class Delivery
{
    private readonly List<DeliveryAttempt> _attempts = [];

    private Delivery()
    {
        MessageId = string.Empty;
    }

    public Guid Id { get; private set; }

    public Guid TenantId { get; private set; }

    public Guid ApplicationId { get; private set; }

    public Guid FeedbackId { get; private set; }

    public Guid RequestId { get; private set; }

    public DeliveryStatus Status { get; private set; }

    public DateTimeOffset ScheduledFor { get; private set; }

    /// <summary>While Sending: the worker renews it while the attempt is alive; once it has run out, recovery counts the attempt as interrupted.</summary>
    public DateTimeOffset? LeaseUntil { get; private set; }

    /// <summary>Deterministic Message-ID (the same on every attempt, so receivers can deduplicate).</summary>
    public string MessageId { get; private set; }

    public DateTimeOffset? SentAt { get; private set; }

    public string? LastReply { get; private set; }

    /// <summary>An attempt was interrupted after SMTP may have accepted it: the candidate may get the email twice.</summary>
    public bool PossibleDuplicate { get; private set; }

    public DateTimeOffset CreatedAt { get; private set; }

    public DateTimeOffset UpdatedAt { get; private set; }

    public IReadOnlyList<DeliveryAttempt> Attempts => _attempts;

    public static Delivery Schedule(Guid tenantId, Guid applicationId, Guid feedbackId, Guid requestId, DateTimeOffset dueAt, string messageIdDomain, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7(now);
        return new Delivery
        {
            Id = id,
            TenantId = tenantId,
            ApplicationId = applicationId,
            FeedbackId = feedbackId,
            RequestId = requestId,
            Status = DeliveryStatus.Scheduled,
            ScheduledFor = dueAt > now ? dueAt : now,
            MessageId = $"feedback.{id:N}@{messageIdDomain}",
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>The earliest send time: the later of now and the rejection plus the cooling-off delay.</summary>
    public static DateTimeOffset DueAt(DateTimeOffset rejectedAt, TimeSpan coolingOff, DateTimeOffset now) =>
        rejectedAt + coolingOff > now ? rejectedAt + coolingOff : now;

    /// <summary>
    /// Claims the delivery for one SMTP attempt. False when it is not due for sending (already sent, cancelled, or sending,
    /// whatever its lease: only recovery takes an attempt over, because only it knows whether the lease ran out while its
    /// worker could still renew it).
    /// </summary>
    public bool TryStartAttempt(DateTimeOffset now, TimeSpan lease)
    {
        if (Status != DeliveryStatus.Scheduled)
            return false;
        Status = DeliveryStatus.Sending;
        LeaseUntil = now + lease;
        _attempts.Add(DeliveryAttempt.Start(this, _attempts.Count + 1, now));
        UpdatedAt = now;
        return true;
    }

    /// <summary>Interrupted attempts after which a delivery fails instead of looping (a poison message, not a crash).</summary>
    public const int MaxInterruptions = 3;

    /// <summary>The worker died mid-attempt: record it, flag a possible duplicate, and send again (at most <see cref="MaxInterruptions"/> times).</summary>
    public void Interrupt(DateTimeOffset now)
    {
        if (Status != DeliveryStatus.Sending)
            return;
        CurrentAttempt?.Finish(AttemptOutcome.Interrupted, "The worker stopped during this attempt; the server may have accepted the email.", now);
        PossibleDuplicate = true;
        LeaseUntil = null;
        UpdatedAt = now;
        if (_attempts.Count(a => a.Outcome == AttemptOutcome.Interrupted && a.CountsAgainstBudget) >= MaxInterruptions)
        {
            Status = DeliveryStatus.Failed;
            LastReply = $"Stopped after {MaxInterruptions} interrupted attempts; look at the worker's error queue and logs, then retry.";
            return;
        }

        Status = DeliveryStatus.Scheduled;
        ScheduledFor = now;
        LeaseUntil = null;
        UpdatedAt = now;
    }

    /// <summary>
    /// The worker was stopped (shutdown, broker connection lost) before the SMTP server had the whole email: the attempt
    /// is recorded as not sent, does not count against the budget, and the delivery is due again at once. Not a possible duplicate.
    /// </summary>
    public void ReleaseUnsent(DateTimeOffset now)
    {
        if (Status != DeliveryStatus.Sending)
            return;
        if (CurrentAttempt is { } attempt)
        {
            attempt.Finish(AttemptOutcome.NotSent, "The worker stopped before the email was handed to the SMTP server; nothing was sent.", now);
            attempt.Forgive();
        }

        Status = DeliveryStatus.Scheduled;
        ScheduledFor = now;
        LeaseUntil = null;
        UpdatedAt = now;
    }

    /// <summary>
    /// Still scheduled long after its due time: its message was lost (a purged or dead-lettered queue). Due now again,
    /// so a new message finds it due (<see cref="ScheduledFor"/> then says since when). False when it is not scheduled.
    /// </summary>
    public bool RequeueLost(DateTimeOffset now)
    {
        if (Status != DeliveryStatus.Scheduled)
            return false;
        ScheduledFor = now;
        UpdatedAt = now;
        return true;
    }

    public void MarkSent(string reply, DateTimeOffset now)
    {
        CurrentAttempt?.Finish(AttemptOutcome.Accepted, reply, now);
        Status = DeliveryStatus.Sent;
        SentAt = now;
        LastReply = reply;
        LeaseUntil = null;
        UpdatedAt = now;
    }

    /// <summary>
    /// A 4xx or no answer: retry after a growing delay, or fail when the budget is spent. Returns the next due time, if any.
    /// <paramref name="mayHaveBeenAccepted"/>: the connection failed after the whole email was handed over, so the
    /// server may have accepted it and the next attempt may deliver it twice (flagged as a possible duplicate).
    /// </summary>
    public DateTimeOffset? RecordTransientFailure(string reply, DateTimeOffset now, int maxAttempts, TimeSpan firstBackoff, bool mayHaveBeenAccepted = false)
    {
        CurrentAttempt?.Finish(AttemptOutcome.TransientFailure, reply, now);
        if (mayHaveBeenAccepted)
            PossibleDuplicate = true;
        LastReply = reply;
        LeaseUntil = null;
        UpdatedAt = now;
        var failures = _attempts.Count(a => a.Outcome is AttemptOutcome.TransientFailure && a.CountsAgainstBudget);
        if (failures >= maxAttempts)
        {
            Status = DeliveryStatus.Failed;
            return null;
        }

        Status = DeliveryStatus.Scheduled;
        ScheduledFor = now + firstBackoff * Math.Pow(2, failures - 1);
        return ScheduledFor;
    }

    public void RecordPermanentFailure(string reply, DateTimeOffset now)
    {
        CurrentAttempt?.Finish(AttemptOutcome.PermanentFailure, reply, now);
        Status = DeliveryStatus.Failed;
        LastReply = reply;
        LeaseUntil = null;
        UpdatedAt = now;
    }

    public void Cancel(DateTimeOffset now)
    {
        if (Status != DeliveryStatus.Scheduled)
            throw DomainException.Conflict("delivery-not-scheduled", $"Only a scheduled delivery can be cancelled; this one is {Status}.");
        Status = DeliveryStatus.Cancelled;
        UpdatedAt = now;
    }

    /// <summary>A failed delivery is scheduled again at once (the attempt budget starts over).</summary>
    public void Retry(DateTimeOffset now)
    {
        if (Status != DeliveryStatus.Failed)
            throw DomainException.Conflict("delivery-not-failed", $"Only a failed delivery can be retried; this one is {Status}.");
        foreach (var a in _attempts.Where(a => a.Outcome is AttemptOutcome.TransientFailure or AttemptOutcome.Interrupted))
            a.Forgive();
        Status = DeliveryStatus.Scheduled;
        ScheduledFor = now;
        UpdatedAt = now;
    }

    /// <summary>What is left of an SMTP reply once the candidate's data is erased: its code only (replies can quote the address).</summary>
    public static string ErasedReply(string? reply) =>
        reply is { Length: >= 3 } r && char.IsAsciiDigit(r[0]) && char.IsAsciiDigit(r[1]) && char.IsAsciiDigit(r[2])
            ? r[..3] + " (reply text erased with the candidate's personal data)"
            : "(reply text erased with the candidate's personal data)";

    /// <summary>Erasure: replaces every recorded SMTP reply by its code. Returns how many texts were replaced.</summary>
    public int EraseReplies(DateTimeOffset now)
    {
        var erased = 0;
        if (LastReply is not null && LastReply != ErasedReply(LastReply))
        {
            LastReply = ErasedReply(LastReply);
            erased++;
        }

        foreach (var attempt in _attempts.Where(a => a.Reply is not null && a.Reply != ErasedReply(a.Reply)))
        {
            attempt.EraseReply();
            erased++;
        }

        if (erased > 0)
            UpdatedAt = now;
        return erased;
    }

    private DeliveryAttempt? CurrentAttempt => _attempts.LastOrDefault(a => a.Outcome == AttemptOutcome.InProgress);
}

/// <summary>One SMTP attempt and the server's reply.</summary>
public sealed class DeliveryAttempt
{
    private DeliveryAttempt()
    {
    }

    public Guid Id { get; private set; }

    public Guid DeliveryId { get; private set; }

    public Guid TenantId { get; private set; }

    public int Number { get; private set; }

    public DateTimeOffset StartedAt { get; private set; }

    public DateTimeOffset? FinishedAt { get; private set; }

    public AttemptOutcome Outcome { get; private set; }

    public string? Reply { get; private set; }

    /// <summary>Counted against the retry budget (false after a manual retry).</summary>
    public bool CountsAgainstBudget { get; private set; } = true;

    internal static DeliveryAttempt Start(Delivery delivery, int number, DateTimeOffset now) =>
        new() { Id = Guid.CreateVersion7(now), DeliveryId = delivery.Id, TenantId = delivery.TenantId, Number = number, StartedAt = now, Outcome = AttemptOutcome.InProgress };

    internal void Finish(AttemptOutcome outcome, string reply, DateTimeOffset now)
    {
        Outcome = outcome;
        Reply = reply.Length > 1000 ? reply[..1000] : reply;
        FinishedAt = now;
    }

    internal void Forgive() => CountsAgainstBudget = false;

    internal void EraseReply() => Reply = Delivery.ErasedReply(Reply);
}
