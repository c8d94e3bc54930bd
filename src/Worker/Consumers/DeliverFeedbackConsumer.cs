using FeedbackHub.Domain;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Delivery;
using FeedbackHub.Worker.Smtp;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Consumers;

/// <summary>
/// Sends one approved feedback email. The delivery row decides, not the message: the delivery is claimed
/// (Scheduled → Sending, with a lease this process renews while it sends) and committed before SMTP, and the outcome is
/// committed after it, so a redelivered or duplicated message finds it Sending, Sent or Failed and sends nothing. SMTP
/// retries are due times in the outbox, never MassTransit retries. Logs carry ids and codes only.
/// </summary>
public sealed partial class DeliverFeedbackConsumer(
    FeedbackHubDbContext db, ISmtpSender smtp, SendingLeases leases, TimeProvider time, IOptions<DeliveryOptions> options,
    ILogger<DeliverFeedbackConsumer> logger)
    : IConsumer<DeliverFeedback>
{
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(2);

    private readonly DeliveryOptions _options = options.Value;

    public async Task Consume(ConsumeContext<DeliverFeedback> context)
    {
        var ct = context.CancellationToken;
        db.ChangeTracker.Clear(); // a retried message starts from the database's state

        var prepared = await ClaimAsync(context.Message.DeliveryId, ct);
        if (prepared is null)
            return;
        var (claim, message) = prepared.Value;

        // No transaction and no lock is held during SMTP; the lease, renewed while this process lives, marks the delivery as being sent.
        leases.Hold(claim.DeliveryId, claim.Attempt);
        try
        {
            SmtpReply reply;
            var mayHaveBeenAccepted = false;
            try
            {
                reply = await smtp.SendAsync(message, ct);
            }
            catch (SmtpUnavailableException e)
            {
                reply = new SmtpReply(0, e.Message);
                mayHaveBeenAccepted = e.MayHaveBeenAccepted;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Stopped (shutdown, broker connection lost) before the server had the whole email: nothing left, so the
                // claim is released at once instead of running out and being flagged as a possible duplicate.
                await ReleaseUnsentAsync(claim);
                throw;
            }

            // The server has answered: its answer is recorded whatever the transport or the database do now. Losing it
            // would leave the attempt to recovery, which sends the email again.
            var recorded = await RecordAsync(claim, (delivery, now) => ApplyReplyAsync(delivery, message.To.Address, reply, mayHaveBeenAccepted, now));
            if (recorded is not null)
                LogOutcome(recorded, reply);
        }
        finally
        {
            leases.Release(claim.DeliveryId);
        }
    }

    private async Task ApplyReplyAsync(Domain.Delivery.Delivery delivery, string address, SmtpReply reply, bool mayHaveBeenAccepted, DateTimeOffset now)
    {
        var ct = CancellationToken.None;
        // The candidate may have been erased while SMTP ran: then nothing personal is written (the reply can quote the
        // address, the suppression list holds its hash). FOR SHARE waits for an erasure in progress to commit.
        var erased = await db.Database.SqlQuery<bool>(
                $"SELECT c.erased_at IS NOT NULL AS \"Value\" FROM candidates c JOIN applications a ON a.candidate_id = c.id WHERE a.id = {delivery.ApplicationId} FOR SHARE OF c")
            .SingleAsync(ct);
        var replyText = erased ? Domain.Delivery.Delivery.ErasedReply(reply.ToString()) : reply.ToString();
        if (reply.IsPositive)
        {
            delivery.MarkSent(replyText, now);
        }
        else if (reply.IsPermanentFailure)
        {
            delivery.RecordPermanentFailure(replyText, now);
            if (!erased)
                await DeliveryScheduling.SuppressAsync(db, delivery.TenantId, address, reply.ToString(), now, ct);
        }
        else
        {
            var text = erased ? replyText : reply.Code == 0 ? reply.Text : reply.ToString();
            if (delivery.RecordTransientFailure(text, now, _options.MaxAttempts, _options.FirstBackoff, mayHaveBeenAccepted) is { } dueAt)
                db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, dueAt));
        }
    }

    private void LogOutcome(Domain.Delivery.Delivery delivery, SmtpReply reply)
    {
        var attempt = delivery.Attempts.Count;
        if (delivery.Status == DeliveryStatus.Sent)
            LogSent(logger, delivery.Id, reply.Code, attempt);
        else if (reply.IsPermanentFailure)
            LogPermanent(logger, delivery.Id, reply.Code);
        else if (delivery.Status == DeliveryStatus.Scheduled)
            LogTransient(logger, delivery.Id, reply.Code, attempt, delivery.ScheduledFor);
        else
            LogGaveUp(logger, delivery.Id, reply.Code, attempt);
    }

    /// <summary>
    /// Gives a claimed but unsent delivery back (attempt recorded as not sent) and queues its message again, so it is
    /// sent once the worker or the broker is back. If this fails too, the lease runs out and recovery sends it again.
    /// </summary>
    private async Task ReleaseUnsentAsync(Claim claim)
    {
        try
        {
            var released = await RecordAsync(claim, (delivery, now) =>
            {
                delivery.ReleaseUnsent(now);
                db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, now));
                return Task.CompletedTask;
            });
            if (released is not null)
                LogReleased(logger, claim.DeliveryId);
        }
        catch (Exception e) when (DatabaseFailures.IsTransient(e))
        {
            LogReleaseFailed(logger, claim.DeliveryId, e.GetType().Name);
        }
    }

    /// <summary>
    /// Records what became of the claimed attempt, in one transaction that locks the delivery and first checks the attempt
    /// is still in progress: recovery may have taken it over after its lease ran out, and then the delivery belongs to the
    /// attempt that took over and nothing is written. Database failures (a restart, a failover) are retried with backoff for
    /// up to <see cref="DeliveryOptions.RecordOutcomeFor"/>; the lease stays renewed meanwhile. Null when nothing was written.
    /// </summary>
    private async Task<Domain.Delivery.Delivery?> RecordAsync(Claim claim, Func<Domain.Delivery.Delivery, DateTimeOffset, Task> change)
    {
        var giveUpAt = time.GetUtcNow() + _options.RecordOutcomeFor;
        for (var backoff = TimeSpan.FromMilliseconds(100); ; backoff = backoff * 2 < LongestBackoff ? backoff * 2 : LongestBackoff)
        {
            try
            {
                db.DiscardPendingChanges(); // a failed try keeps what it changed; every try starts from the database's state
                await using var tx = await db.Database.BeginTransactionAsync(CancellationToken.None);
                var delivery = await db.Deliveries
                    .FromSql($"SELECT * FROM deliveries WHERE id = {claim.DeliveryId} FOR UPDATE")
                    .Include(d => d.Attempts)
                    .SingleAsync(CancellationToken.None);
                var attempt = delivery.Attempts.Single(a => a.Number == claim.Attempt);
                if (attempt.Outcome != AttemptOutcome.InProgress)
                {
                    // Interrupted: recovery took it over. Anything else: an earlier try committed although its answer was lost.
                    if (attempt.Outcome == AttemptOutcome.Interrupted)
                        LogLeaseLost(logger, claim.DeliveryId, claim.Attempt);
                    return null;
                }

                await change(delivery, time.GetUtcNow());
                await db.SaveChangesAsync(CancellationToken.None);
                await tx.CommitAsync(CancellationToken.None);
                return delivery;
            }
            catch (Exception e) when (DatabaseFailures.IsTransient(e) && time.GetUtcNow() + backoff < giveUpAt)
            {
                LogRecordRetry(logger, claim.DeliveryId, e.GetType().Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, time);
            }
        }
    }

    /// <summary>The attempt this consumer claimed: the delivery and the attempt's number.</summary>
    private readonly record struct Claim(Guid DeliveryId, int Attempt);

    /// <summary>
    /// First transaction: locks the delivery, claims one attempt, renders the email. Null when there is nothing
    /// to send (already handled, not due, or failed permanently before SMTP).
    /// </summary>
    private async Task<(Claim Claim, EmailMessage Message)?> ClaimAsync(Guid deliveryId, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var delivery = await db.Deliveries
            .FromSql($"SELECT * FROM deliveries WHERE id = {deliveryId} FOR UPDATE")
            .Include(d => d.Attempts)
            .SingleOrDefaultAsync(ct);
        if (delivery is null)
        {
            LogUnknown(logger, deliveryId);
            return null;
        }

        var now = time.GetUtcNow();
        if (delivery.Status == DeliveryStatus.Scheduled && delivery.ScheduledFor > now + _options.EarlyTolerance)
        {
            // Early (a clock-skewed relay, a duplicate, a hand-published message): send nothing now, but make sure a
            // message comes back at the due time, so the delivery cannot be stranded if its own message was lost.
            db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, delivery.ScheduledFor));
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            LogEarly(logger, delivery.Id, delivery.ScheduledFor);
            return null;
        }

        if (!delivery.TryStartAttempt(now, _options.SendingLease))
        {
            // Sent, Failed, Cancelled, or Sending elsewhere (recovery takes it over if that worker died): a duplicate message sends nothing.
            LogNothingToDo(logger, delivery.Id, delivery.Status);
            return null;
        }

        EmailMessage? message = null;
        string? failure = null;
        var recipient = await DeliveryScheduling.RecipientAsync(db, delivery.TenantId, delivery.ApplicationId, ct);
        var settings = recipient.Settings;
        if (recipient.ErasedAt is not null)
        {
            failure = "Not sent: the candidate's personal data was erased.";
        }
        else if (await DeliveryScheduling.IsSuppressedAsync(db, delivery.TenantId, recipient.Email, ct))
        {
            failure = "Not sent: the address is suppressed for this tenant after an earlier permanent SMTP failure.";
        }
        else
        {
            var feedback = await db.Feedback.SingleAsync(f => f.Id == delivery.FeedbackId, ct);
            var template = await db.TemplateVersions.SingleAsync(v => v.TemplateId == feedback.TemplateId && v.Number == feedback.TemplateVersion, ct);
            try
            {
                var rendered = FeedbackEmailRenderer.Render(template.Content, feedback.Answers, recipient.MergeValues, recipient.Footer);
                message = new EmailMessage(
                    new MailboxAddress(settings.SenderName, settings.SenderAddress),
                    new MailboxAddress(recipient.FirstName, recipient.Email),
                    settings.ReplyTo is { Length: > 0 } replyTo ? new MailboxAddress(null, replyTo) : null,
                    rendered.Subject,
                    rendered.Text,
                    rendered.Html,
                    delivery.MessageId,
                    now);
            }
            catch (DomainException e) when (e.Code == "missing-merge-value")
            {
                failure = "Not sent: " + e.Message;
            }
        }

        if (message is null)
        {
            delivery.RecordPermanentFailure(failure!, now);
            LogNotSendable(logger, delivery.Id);
        }

        await db.SaveChangesAsync(ct);
        // Not cancellable: a cancelled COMMIT may still have committed, and a claim nobody knows about waits for its lease.
        await tx.CommitAsync(CancellationToken.None);
        return message is null ? null : (new Claim(delivery.Id, delivery.Attempts.Max(a => a.Number)), message);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} does not exist; message ignored")]
    private static partial void LogUnknown(ILogger logger, Guid deliveryId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} is not due before {ScheduledFor}; early message put back for the due time")]
    private static partial void LogEarly(ILogger logger, Guid deliveryId, DateTimeOffset scheduledFor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} is {Status}; nothing sent")]
    private static partial void LogNothingToDo(ILogger logger, Guid deliveryId, DeliveryStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} cannot be sent (erased, suppressed or not renderable); failed without SMTP")]
    private static partial void LogNotSendable(ILogger logger, Guid deliveryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} attempt {Attempt} was taken over by recovery before its outcome was recorded (its lease ran out); another attempt owns the delivery, nothing recorded")]
    private static partial void LogLeaseLost(ILogger logger, Guid deliveryId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: recording the attempt failed ({ExceptionType}); trying again in {BackoffMs} ms")]
    private static partial void LogRecordRetry(ILogger logger, Guid deliveryId, string exceptionType, double backoffMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} was stopped before the email was handed over; released to be sent again")]
    private static partial void LogReleased(ILogger logger, Guid deliveryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} could not be released after a stop ({ExceptionType}); it is sent again when its lease runs out")]
    private static partial void LogReleaseFailed(ILogger logger, Guid deliveryId, string exceptionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} sent: SMTP {Code} on attempt {Attempt}")]
    private static partial void LogSent(ILogger logger, Guid deliveryId, int code, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} failed permanently: SMTP {Code}; address suppressed")]
    private static partial void LogPermanent(ILogger logger, Guid deliveryId, int code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} attempt {Attempt} failed temporarily (SMTP {Code}); next try at {DueAt}")]
    private static partial void LogTransient(ILogger logger, Guid deliveryId, int code, int attempt, DateTimeOffset dueAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} failed after {Attempt} attempts (last SMTP {Code})")]
    private static partial void LogGaveUp(ILogger logger, Guid deliveryId, int code, int attempt);
}

/// <summary>Retries for database failures only (riding out a restart); SMTP retries are scheduled by the consumer itself.</summary>
public sealed class DeliverFeedbackConsumerDefinition : ConsumerDefinition<DeliverFeedbackConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<DeliverFeedbackConsumer> consumerConfigurator, IRegistrationContext context) =>
        consumerConfigurator.UseDatabaseRetry();
}
