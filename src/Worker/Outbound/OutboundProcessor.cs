using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FeedbackHub.Worker.Outbound;

/// <summary>An email attempt this process claimed: the claim, its channel, and the application whose lock guards it (none: its row's lock).</summary>
public sealed record ClaimedItem(OutboundClaim Claim, string Channel, Guid? Application);

/// <summary>
/// The claim and record steps of every email channel, many items per transaction (docs/decisions/0017): the
/// <see cref="EmailDispatcher"/> claims due items with them and records their answers. The item decides, not a message:
/// each is locked (its application's lock for an item sent because of an application, its row otherwise), checked by
/// its channel, claimed (Scheduled -> Sending, with a lease this process renews while it sends) and committed before it
/// is handed over; the answer is recorded after, in a transaction that first checks the attempt is still this
/// process's (recovery may have taken it over). Retries are due times in <c>outbound</c>. Outcomes go into the tenant's
/// audit log in the transaction that records them. Logs carry ids and codes only.
/// </summary>
public sealed partial class OutboundProcessor(
    FeedbackHubDbContext db, AuditLog audit, IEnumerable<IOutboundChannel> channels, TimeProvider time, IOptions<DeliveryOptions> options,
    ILogger<OutboundProcessor> logger, FeedbackHubMetrics metrics)
{
    private readonly DeliveryOptions _options = options.Value;
    private readonly Dictionary<string, IOutboundChannel> _channels = channels.ToDictionary(c => c.Name, StringComparer.Ordinal);

    /// <summary>
    /// One transaction: up to <paramref name="take"/> due items of the named channels, oldest due first (rows another
    /// transaction holds skipped, and items whose application another transaction has locked skipped too: both are
    /// taken on a later poll), each checked and prepared by its channel under its locks. Items still wanted are claimed;
    /// those that can no longer be sent fail (one attempt says why) and those no longer wanted are cancelled, audited
    /// here. Returns the claims, committed.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedItem>> ClaimDueAsync(IReadOnlyCollection<string> channelNames, int take, CancellationToken ct)
    {
        db.DiscardPendingChanges();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var now = time.GetUtcNow();
        var due = new List<(Guid Id, string Channel)>(take);
        await using (var select = db.Database.GetDbConnection().CreateCommand())
        {
            select.Transaction = tx.GetDbTransaction();
            select.CommandText = QueueClaims.Pick(QueueClaims.DueEmails);
            select.Parameters.Add(new NpgsqlParameter("channels", channelNames.ToArray()));
            select.Parameters.Add(new NpgsqlParameter("now", now));
            select.Parameters.Add(new NpgsqlParameter("take", take));
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                due.Add((reader.GetGuid(0), reader.GetString(1)));
        }

        if (due.Count == 0)
        {
            await tx.CommitAsync(CancellationToken.None);
            return [];
        }

        var claims = new List<ClaimedItem>(due.Count);
        var leased = new List<(OutboundItem Item, OutboundGuard Guard)>(due.Count);
        var settled = new List<(IOutboundChannel Channel, OutboundItem Item, string? CancelReason)>();
        foreach (var group in due.GroupBy(d => d.Channel))
        {
            var channel = _channels[group.Key];
            // Locked and read many at a time, never waiting: an application another transaction holds (a reopen, an
            // erasure) is left for the next poll.
            var locked = (await channel.LockManyAsync(db, [.. group.Select(d => d.Id)], ct, skipIfBusy: true))
                .Where(l => l.Item.IsDue(now, TimeSpan.Zero))
                .ToList();
            if (locked.Count == 0)
                continue;
            // The application's state, the recipient and the item are checked here, under the locks, before anything leaves.
            var preparations = await channel.PrepareManyAsync(db, [.. locked.Select(l => l.Item)], now, ct);
            for (var i = 0; i < locked.Count; i++)
            {
                var (item, guard) = locked[i];
                try
                {
                    switch (preparations[i])
                    {
                        case Preparation.Cancelling cancelling:
                            item.Cancel(guard, now);
                            Audit(channel, item, channel.AuditNames.Cancelled, new Dictionary<string, object?> { ["reason"] = cancelling.Reason });
                            settled.Add((channel, item, cancelling.Reason));
                            break;
                        case Preparation.Failing failing:
                            var attempt = item.TryClaim(guard, now, _options.SendingLease)!.Value;
                            item.RecordAnswer(guard, failing.Answer, channel.RetryPolicy, now);
                            AuditOutcome(channel, item, attempt, failing.Answer, suppressed: false, notSendable: true);
                            settled.Add((channel, item, null));
                            break;
                        case Preparation.Sending sending:
                            var claim = new OutboundClaim(item.Id, item.TenantId, item.TryClaim(guard, now, _options.SendingLease)!.Value, sending.Payload);
                            claims.Add(new ClaimedItem(claim, channel.Name, guard.Application?.ApplicationId));
                            leased.Add((item, guard));
                            break;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException && !DatabaseFailures.IsTransient(e) && e is not NpgsqlException)
                {
                    throw new ItemClaimFailedException(item.Id, e);
                }
            }
        }

        // The leases run from the end of the claim, not from its start: the first item's must not have aged (while the
        // rest were locked and prepared) by the time the dispatcher starts renewing them. Set before the claim's one
        // write, so each row is updated once (a second update of the same rows cost a new row version and an entry in
        // each of its indexes per item: bench/delivery/README.md).
        var until = time.GetUtcNow() + _options.SendingLease;
        foreach (var (item, guard) in leased)
            item.HoldLeaseUntil(guard, until);
        await db.SaveChangesAsync(ct);

        // Not cancellable: a cancelled COMMIT may still have committed, and a claim nobody knows about waits for its lease.
        await tx.CommitAsync(CancellationToken.None);
        foreach (var (channel, item, reason) in settled)
        {
            if (reason is not null)
            {
                LogCancelled(logger, channel.Name, item.Id, reason);
                metrics.Delivery(channel.Name, "cancelled");
            }
            else
            {
                LogNotSendable(logger, channel.Name, item.Id);
                metrics.Delivery(channel.Name, "not_sendable");
            }
        }

        return claims;
    }

    /// <summary>
    /// Puts an item whose claim failed for a reason of its own aside until <see cref="DeliveryOptions.ServerProblemRetry"/>
    /// from now, so it does not hold up the items due after it. Nothing about it changes otherwise.
    /// </summary>
    public async Task PutAsideAsync(Guid itemId, CancellationToken ct)
    {
        var later = time.GetUtcNow() + _options.ServerProblemRetry;
        await db.Database.ExecuteSqlAsync($"UPDATE outbound SET due_at = {later} WHERE id = {itemId} AND status = 'Scheduled'", ct);
    }

    /// <summary>
    /// One transaction for a batch of answers: takes the locks of all its items first (their applications' in one
    /// statement, in id order, then each channel's items in two round trips: so two recorders never wait for each other
    /// in a circle), checks each attempt is still in progress (recovery may have taken it over after its lease ran out,
    /// then nothing is written for it), records the answer (or releases an attempt never handed over), lets the channel
    /// do its side effects (suppression, a revoked link) and audits final outcomes. One try: the caller retries database
    /// failures. Logs and counts what it recorded once committed.
    /// </summary>
    public async Task RecordAsync(IReadOnlyList<DispatchResult<ClaimedItem>> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        db.DiscardPendingChanges();
        await using var tx = await db.Database.BeginTransactionAsync(CancellationToken.None);
        await DeliveryScheduling.LockApplicationsAsync(db, [.. batch.Select(r => r.Claim.Application).OfType<Guid>().Distinct()], CancellationToken.None);
        var recorded = new List<(DispatchResult<ClaimedItem> Result, IOutboundChannel Channel, OutboundItem Item)>(batch.Count);
        foreach (var group in batch.GroupBy(r => r.Claim.Channel).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var channel = _channels[group.Key];
            var results = group.ToDictionary(r => r.Claim.Claim.ItemId);
            var live = new List<(DispatchResult<ClaimedItem> Result, OutboundItem Item, OutboundGuard Guard)>(results.Count);
            var locked = await channel.LockManyAsync(db, results.Keys, CancellationToken.None);
            foreach (var gone in results.Keys.Except(locked.Select(l => l.Item.Id)))
                LogGone(logger, channel.Name, gone);
            foreach (var (item, guard) in locked)
            {
                var result = results[item.Id];
                var attempt = item.Attempt(result.Claim.Claim.Attempt);
                if (attempt is { Outcome: AttemptOutcome.InProgress })
                    live.Add((result, item, guard));
                else if (attempt?.Outcome == AttemptOutcome.Interrupted)
                    LogLeaseLost(logger, channel.Name, item.Id, result.Claim.Claim.Attempt); // recovery took it over
                // Anything else: an earlier try committed although its answer was lost.
            }

            var answered = live.Where(l => l.Result.Answer.Outcome != AttemptOutcome.NotSent).Select(l => l.Item).ToList();
            var erasedRecipients = answered.Count > 0 ? await channel.ErasedRecipientsAsync(db, answered, CancellationToken.None) : new HashSet<Guid>();
            foreach (var (result, item, guard) in live)
            {
                var claim = result.Claim.Claim;
                var now = time.GetUtcNow();
                var answer = result.Answer;
                if (answer.Outcome == AttemptOutcome.NotSent)
                {
                    // Stopped, or our own failure before the hand-over (which waits a little, so a broken dependency does not spin).
                    item.ReleaseUnsent(guard, now, now + (result.FailedBeforeHandOver ? channel.RetryPolicy.ServerProblemBackoff(1) : TimeSpan.Zero));
                    await channel.OnNotSentAsync(db, item, claim, now, CancellationToken.None);
                }
                else
                {
                    var erased = erasedRecipients.Contains(item.Id);
                    var stored = erased ? answer with { Reply = OutboundItem.ErasedReply(answer.Reply), ResponseExcerpt = null } : answer;
                    item.RecordAnswer(guard, stored, channel.RetryPolicy, now);
                    var suppressed = await channel.OnAnswerAsync(db, item, claim, answer, erased, now, CancellationToken.None);
                    AuditOutcome(channel, item, claim.Attempt, stored, suppressed);
                }

                recorded.Add((result, channel, item));
            }
        }

        await db.SaveChangesAsync(CancellationToken.None);
        await tx.CommitAsync(CancellationToken.None);
        foreach (var (result, channel, item) in recorded)
        {
            if (result.Answer.Outcome == AttemptOutcome.NotSent)
            {
                LogReleased(logger, channel.Name, item.Id);
                metrics.Delivery(channel.Name, "not_sent");
            }
            else
            {
                LogOutcome(channel, item, result.Claim.Claim.Attempt, result.Answer);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel} {ItemId} is no longer wanted ({Reason}); cancelled without sending")]
    private static partial void LogCancelled(ILogger logger, string channel, Guid itemId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} cannot be sent (erased, suppressed, not renderable or not configured); failed without sending")]
    private static partial void LogNotSendable(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} attempt {Attempt} was taken over by recovery before its outcome was recorded (its lease ran out); another attempt owns it, nothing recorded")]
    private static partial void LogLeaseLost(ILogger logger, string channel, Guid itemId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel} {ItemId} was deleted while it was being sent; its answer is not recorded")]
    private static partial void LogGone(ILogger logger, string channel, Guid itemId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel} {ItemId} was stopped before it was handed over; released to be sent again")]
    private static partial void LogReleased(ILogger logger, string channel, Guid itemId);

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
