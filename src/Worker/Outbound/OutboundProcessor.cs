using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Outbound;

/// <summary>
/// The one claim -> send -> record path of every channel. The item decides, not the message: it is locked (its
/// application's lock for an item sent because of an application, its row otherwise), checked by the channel,
/// claimed (Scheduled -> Sending, with a lease this process renews while it sends) and committed before it is handed
/// over; the answer is recorded after, in a transaction that first checks the attempt is still this process's (recovery
/// may have taken it over), retried through database failures. Retries are due times in the outbox, never MassTransit
/// retries. Outcomes go into the tenant's audit log in the transaction that records them. Logs carry ids and codes only.
/// </summary>
public sealed partial class OutboundProcessor(
    FeedbackHubDbContext db, AuditLog audit, SendingLeases leases, TimeProvider time, IOptions<DeliveryOptions> options, ILogger<OutboundProcessor> logger,
    FeedbackHubMetrics metrics)
{
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(2);

    private readonly DeliveryOptions _options = options.Value;

    public async Task ProcessAsync(IOutboundChannel channel, Guid itemId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(channel);
        db.DiscardPendingChanges(); // a retried message starts from the database's state
        var claim = await ClaimAsync(channel, itemId, ct);
        if (claim is null)
            return;

        // No transaction and no lock is held while sending; the lease, renewed while this process lives, marks the item as being sent.
        leases.Hold(claim.ItemId, claim.Attempt);
        try
        {
            AttemptAnswer answer;
            try
            {
                answer = await channel.SendAsync(claim, ct);
            }
            catch (Exception e) when (e is OperationCanceledException && ct.IsCancellationRequested || e is NotHandedOverException)
            {
                // Stopped (shutdown, broker connection lost) or failed before the hand-over: nothing left, so the claim is
                // released at once instead of running out and being flagged as a possible duplicate.
                // A failure of our own (not a stop) waits a little, so a broken dependency does not spin the message round.
                await ReleaseUnsentAsync(channel, claim, e is NotHandedOverException ? channel.RetryPolicy.ServerProblemBackoff(1) : TimeSpan.Zero);
                throw;
            }

            // The other side has answered: the answer is recorded whatever the transport or the database do now. Losing
            // it would leave the attempt to recovery, which sends it again.
            var recorded = await RecordAsync(channel, claim, async (item, guard, now) =>
            {
                var erased = await channel.RecipientErasedAsync(db, item, CancellationToken.None);
                var stored = erased ? answer with { Reply = OutboundItem.ErasedReply(answer.Reply), ResponseExcerpt = null } : answer;
                if (item.RecordAnswer(guard, stored, channel.RetryPolicy, now) is { } dueAt)
                    db.OutboxMessages.Add(OutboxMessage.Create(channel.MessageFor(item), item.TenantId, now, dueAt));
                var suppressed = await channel.OnAnswerAsync(db, item, claim, answer, erased, now, CancellationToken.None);
                AuditOutcome(channel, item, claim.Attempt, stored, suppressed);
            });
            if (recorded is not null)
                LogOutcome(channel, recorded, claim.Attempt, answer);
        }
        finally
        {
            leases.Release(claim.ItemId);
        }
    }

    /// <summary>
    /// First transaction: locks the item, lets the channel check and prepare it, claims one attempt. Null when there is
    /// nothing to send (unknown, already handled, early, cancelled or failed before sending).
    /// </summary>
    private async Task<OutboundClaim?> ClaimAsync(IOutboundChannel channel, Guid itemId, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var locked = await channel.LockAsync(db, itemId, ct);
        if (locked is null)
        {
            LogUnknown(logger, channel.Name, itemId);
            return null;
        }

        var (item, guard) = locked;
        var now = time.GetUtcNow();
        if (item.Status == OutboundStatus.Scheduled && !item.IsDue(now, _options.EarlyTolerance))
        {
            // Early (a clock-skewed relay, a duplicate, a hand-published message): send nothing now, but make sure a
            // message comes back at the due time, so the item cannot be stranded if its own message was lost.
            db.OutboxMessages.Add(OutboxMessage.Create(channel.MessageFor(item), item.TenantId, now, item.DueAt));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            LogEarly(logger, channel.Name, item.Id, item.DueAt);
            return null;
        }

        if (item.Status != OutboundStatus.Scheduled)
        {
            // Sent, Failed, Cancelled, or Sending elsewhere (recovery takes it over if that worker died): a duplicate message sends nothing.
            LogNothingToDo(logger, channel.Name, item.Id, item.Status);
            return null;
        }

        // The application's state, the recipient and the item are checked here, under the locks, before anything leaves.
        var preparation = await channel.PrepareAsync(db, item, now, ct);
        OutboundClaim? claim = null;
        switch (preparation)
        {
            case Preparation.Cancelling cancelling:
                item.Cancel(guard, now);
                Audit(channel, item, channel.AuditNames.Cancelled, new Dictionary<string, object?> { ["reason"] = cancelling.Reason });
                LogCancelled(logger, channel.Name, item.Id, cancelling.Reason);
                metrics.Delivery(channel.Name, "cancelled");
                break;
            case Preparation.Failing failing:
                var attempt = item.TryClaim(guard, now, _options.SendingLease)!.Value;
                item.RecordAnswer(guard, failing.Answer, channel.RetryPolicy, now);
                AuditOutcome(channel, item, attempt, failing.Answer, suppressed: false, notSendable: true);
                LogNotSendable(logger, channel.Name, item.Id);
                metrics.Delivery(channel.Name, "not_sendable");
                break;
            case Preparation.Sending sending:
                claim = new OutboundClaim(item.Id, item.TenantId, item.TryClaim(guard, now, _options.SendingLease)!.Value, sending.Payload);
                break;
        }

        await db.SaveChangesAsync(ct);
        // Not cancellable: a cancelled COMMIT may still have committed, and a claim nobody knows about waits for its lease.
        await tx.CommitAsync(CancellationToken.None);
        return claim;
    }

    /// <summary>
    /// Gives a claimed but unsent item back (attempt recorded as not sent) and queues its message again, so it is sent
    /// once the worker or the broker is back. If this fails too, the lease runs out and recovery sends it again.
    /// </summary>
    private async Task ReleaseUnsentAsync(IOutboundChannel channel, OutboundClaim claim, TimeSpan delay)
    {
        try
        {
            var released = await RecordAsync(channel, claim, async (item, guard, now) =>
            {
                item.ReleaseUnsent(guard, now, now + delay);
                db.OutboxMessages.Add(OutboxMessage.Create(channel.MessageFor(item), item.TenantId, now, item.DueAt));
                await channel.OnNotSentAsync(db, item, claim, now, CancellationToken.None);
            });
            if (released is not null)
            {
                LogReleased(logger, channel.Name, claim.ItemId);
                metrics.Delivery(channel.Name, "not_sent");
            }
        }
        catch (Exception e) when (DatabaseFailures.IsTransient(e))
        {
            LogReleaseFailed(logger, channel.Name, claim.ItemId, e.GetType().Name);
        }
    }

    /// <summary>
    /// Records what became of the claimed attempt, in one transaction that locks the item and first checks the attempt is
    /// still in progress: recovery may have taken it over after its lease ran out, and then the item belongs to the attempt
    /// that took over and nothing is written. Database failures (a restart, a failover) are retried with backoff for up to
    /// <see cref="DeliveryOptions.RecordOutcomeFor"/>; the lease stays renewed meanwhile. Null when nothing was written.
    /// </summary>
    private async Task<OutboundItem?> RecordAsync(IOutboundChannel channel, OutboundClaim claim, Func<OutboundItem, OutboundGuard, DateTimeOffset, Task> change)
    {
        var giveUpAt = time.GetUtcNow() + _options.RecordOutcomeFor;
        for (var backoff = TimeSpan.FromMilliseconds(100); ; backoff = backoff * 2 < LongestBackoff ? backoff * 2 : LongestBackoff)
        {
            try
            {
                db.DiscardPendingChanges(); // a failed try keeps what it changed; every try starts from the database's state
                await using var tx = await db.Database.BeginTransactionAsync(CancellationToken.None);
                var locked = await channel.LockAsync(db, claim.ItemId, CancellationToken.None);
                if (locked is null)
                {
                    LogGone(logger, channel.Name, claim.ItemId);
                    return null;
                }

                var attempt = locked.Item.Attempt(claim.Attempt);
                if (attempt is not { Outcome: AttemptOutcome.InProgress })
                {
                    // Interrupted: recovery took it over. Anything else: an earlier try committed although its answer was lost.
                    if (attempt?.Outcome == AttemptOutcome.Interrupted)
                        LogLeaseLost(logger, channel.Name, claim.ItemId, claim.Attempt);
                    return null;
                }

                await change(locked.Item, locked.Guard, time.GetUtcNow());
                await db.SaveChangesAsync(CancellationToken.None);
                await tx.CommitAsync(CancellationToken.None);
                return locked.Item;
            }
            catch (Exception e) when (DatabaseFailures.IsTransient(e) && time.GetUtcNow() + backoff < giveUpAt)
            {
                LogRecordRetry(logger, channel.Name, claim.ItemId, e.GetType().Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, time);
            }
        }
    }

    /// <summary>Audits a final outcome (sent, failed, suppressed); an attempt that leads to another try is not audited.</summary>
    private void AuditOutcome(IOutboundChannel channel, OutboundItem item, int attempt, AttemptAnswer answer, bool suppressed, bool notSendable = false)
    {
        var names = channel.AuditNames;
        var data = new Dictionary<string, object?>
        {
            ["attempt"] = attempt,
            ["code"] = answer.Code,
            ["detail"] = answer.Detail,
            ["possibleDuplicate"] = item.PossibleDuplicate,
        };
        if (item.Status == OutboundStatus.Sent)
        {
            Audit(channel, item, names.Sent, data);
        }
        else if (item.Status == OutboundStatus.Failed)
        {
            data["reason"] = notSendable ? "not-sendable"
                : answer.Outcome == AttemptOutcome.PermanentFailure ? "refused"
                : "retries-exhausted";
            Audit(channel, item, names.Failed, data);
        }

        if (suppressed && names.Suppressed is { } suppressedAction)
            Audit(channel, item, suppressedAction, new Dictionary<string, object?> { ["attempt"] = attempt, ["code"] = answer.Code, ["detail"] = answer.Detail });
    }

    private void Audit(IOutboundChannel channel, OutboundItem item, string action, Dictionary<string, object?> data)
    {
        var (subjectId, ids) = channel.AuditSubject(item);
        foreach (var (name, value) in ids)
            data[name] = value;
        audit.Record(item.TenantId, Actor.System, action, channel.AuditNames.SubjectType, subjectId, data);
    }

    private void LogOutcome(IOutboundChannel channel, OutboundItem item, int attempt, AttemptAnswer answer)
    {
        var code = answer.Code ?? 0;
        switch (item.Status)
        {
            case OutboundStatus.Sent:
                LogSent(logger, channel.Name, item.Id, code, attempt);
                metrics.Delivery(channel.Name, "sent");
                break;
            case OutboundStatus.Scheduled when answer.Outcome == AttemptOutcome.ServerProblem:
                LogServerProblem(logger, channel.Name, item.Id, code, answer.Detail, item.DueAt);
                metrics.Delivery(channel.Name, "server_problem");
                break;
            case OutboundStatus.Scheduled:
                LogRetry(logger, channel.Name, item.Id, code, answer.Detail, attempt, item.DueAt);
                metrics.Delivery(channel.Name, "retry");
                break;
            default:
                LogFailed(logger, channel.Name, item.Id, code, answer.Detail, attempt);
                metrics.Delivery(channel.Name, "failed");
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} does not exist; message ignored")]
    private static partial void LogUnknown(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel} {ItemId} is not due before {DueAt}; early message put back for the due time")]
    private static partial void LogEarly(ILogger logger, string channel, Guid itemId, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel} {ItemId} is {Status}; nothing sent")]
    private static partial void LogNothingToDo(ILogger logger, string channel, Guid itemId, OutboundStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel} {ItemId} is no longer wanted ({Reason}); cancelled without sending")]
    private static partial void LogCancelled(ILogger logger, string channel, Guid itemId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} cannot be sent (erased, suppressed, not renderable or not configured); failed without sending")]
    private static partial void LogNotSendable(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} attempt {Attempt} was taken over by recovery before its outcome was recorded (its lease ran out); another attempt owns it, nothing recorded")]
    private static partial void LogLeaseLost(ILogger logger, string channel, Guid itemId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} was deleted while it was being sent; its answer is not recorded")]
    private static partial void LogGone(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId}: recording the attempt failed ({ExceptionType}); trying again in {BackoffMs} ms")]
    private static partial void LogRecordRetry(ILogger logger, string channel, Guid itemId, string exceptionType, double backoffMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel} {ItemId} was stopped before it was handed over; released to be sent again")]
    private static partial void LogReleased(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} could not be released after a stop ({ExceptionType}); it is sent again when its lease runs out")]
    private static partial void LogReleaseFailed(ILogger logger, string channel, Guid itemId, string exceptionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel} {ItemId} sent: {Code} on attempt {Attempt}")]
    private static partial void LogSent(ILogger logger, string channel, Guid itemId, int code, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} attempt {Attempt} failed temporarily ({Code} {Detail}); next try at {DueAt}")]
    private static partial void LogRetry(ILogger logger, string channel, Guid itemId, int code, string? detail, int attempt, DateTimeOffset dueAt);

    // Debug: SmtpHealth writes the one Error line per change of state; a line per waiting item per retry would flood the log.
    [LoggerMessage(Level = LogLevel.Debug, Message = "{Channel} {ItemId} waits for the mail server ({Code} {Detail}): its configuration or the server must be fixed; nothing is suppressed, next try at {DueAt}")]
    private static partial void LogServerProblem(ILogger logger, string channel, Guid itemId, int code, string? detail, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} failed ({Code} {Detail}) on attempt {Attempt}")]
    private static partial void LogFailed(ILogger logger, string channel, Guid itemId, int code, string? detail, int attempt);
}
