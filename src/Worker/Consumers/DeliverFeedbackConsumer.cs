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
/// (Scheduled → Sending, with a lease) and committed before SMTP, and the outcome is committed after it, so a
/// redelivered or duplicated message finds it Sending, Sent or Failed and sends nothing. SMTP retries are due
/// times in the outbox, never MassTransit retries. Logs carry ids and codes only.
/// </summary>
public sealed partial class DeliverFeedbackConsumer(
    FeedbackHubDbContext db, ISmtpSender smtp, TimeProvider time, IOptions<DeliveryOptions> options, ILogger<DeliverFeedbackConsumer> logger)
    : IConsumer<DeliverFeedback>
{
    private readonly DeliveryOptions _options = options.Value;

    public async Task Consume(ConsumeContext<DeliverFeedback> context)
    {
        var ct = context.CancellationToken;
        var deliveryId = context.Message.DeliveryId;
        db.ChangeTracker.Clear(); // a retried message starts from the database's state

        var prepared = await ClaimAsync(deliveryId, ct);
        if (prepared is null)
            return;
        var (delivery, message) = prepared.Value;

        // No transaction and no lock is held during SMTP; the lease marks the delivery as being sent.
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
            // claim is released at once instead of waiting for the lease to run out and flagging a possible duplicate.
            await ReleaseUnsentAsync(delivery);
            throw;
        }

        // The server has answered: its answer is recorded even if the transport cancels the message now; losing it would
        // leave the delivery Sending until its lease runs out, then send it again.
        ct = CancellationToken.None;
        var now = time.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (!await StillClaimedAsync(delivery, ct))
        {
            // The lease ran out during a very slow SMTP transaction and recovery handed the delivery on (flagged as a
            // possible duplicate): its state belongs to that attempt now, so this late answer changes nothing.
            LogLeaseLost(logger, delivery.Id, delivery.Attempts.Count, reply.Code);
            return;
        }

        // The candidate may have been erased while SMTP ran: then nothing personal is written (the reply can quote the
        // address, the suppression list holds its hash). FOR SHARE waits for an erasure in progress to commit.
        var erased = await db.Database.SqlQuery<bool>(
                $"SELECT c.erased_at IS NOT NULL AS \"Value\" FROM candidates c JOIN applications a ON a.candidate_id = c.id WHERE a.id = {delivery.ApplicationId} FOR SHARE OF c")
            .SingleAsync(ct);
        var replyText = erased ? Domain.Delivery.Delivery.ErasedReply(reply.ToString()) : reply.ToString();
        if (reply.IsPositive)
        {
            delivery.MarkSent(replyText, now);
            LogSent(logger, delivery.Id, reply.Code, delivery.Attempts.Count);
        }
        else if (reply.IsPermanentFailure)
        {
            delivery.RecordPermanentFailure(replyText, now);
            if (!erased)
                await DeliveryScheduling.SuppressAsync(db, delivery.TenantId, message.To.Address, reply.ToString(), now, ct);
            LogPermanent(logger, delivery.Id, reply.Code);
        }
        else
        {
            var text = erased ? replyText : reply.Code == 0 ? reply.Text : reply.ToString();
            var due = delivery.RecordTransientFailure(text, now, _options.MaxAttempts, _options.FirstBackoff, mayHaveBeenAccepted);
            if (due is { } dueAt)
            {
                db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, dueAt));
                LogTransient(logger, delivery.Id, reply.Code, delivery.Attempts.Count, dueAt);
            }
            else
            {
                LogGaveUp(logger, delivery.Id, reply.Code, delivery.Attempts.Count);
            }
        }

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Locks the delivery row and tells whether the attempt this consumer claimed is still the current one: the row is
    /// Sending and no later attempt exists. (This consumer's tracked copy may be stale once its lease ran out.)
    /// </summary>
    private Task<bool> StillClaimedAsync(Domain.Delivery.Delivery delivery, CancellationToken ct)
    {
        var number = delivery.Attempts.Count;
        return db.Database.SqlQuery<bool>(
                $"SELECT d.status = 'Sending' AND NOT EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.number > {number}) AS \"Value\" FROM deliveries d WHERE d.id = {delivery.Id} FOR UPDATE OF d")
            .SingleAsync(ct);
    }

    /// <summary>
    /// Gives a claimed but unsent delivery back (attempt recorded as not sent) and queues its message again, so it is
    /// sent once the worker or the broker is back. If this fails too, the lease runs out and recovery sends it again.
    /// </summary>
    private async Task ReleaseUnsentAsync(Domain.Delivery.Delivery delivery)
    {
        try
        {
            var now = time.GetUtcNow();
            await using var tx = await db.Database.BeginTransactionAsync(CancellationToken.None);
            if (!await StillClaimedAsync(delivery, CancellationToken.None))
                return;
            delivery.ReleaseUnsent(now);
            db.OutboxMessages.Add(OutboxMessage.Create(new DeliverFeedback(delivery.Id, delivery.TenantId), delivery.TenantId, now, now));
            await db.SaveChangesAsync(CancellationToken.None);
            await tx.CommitAsync(CancellationToken.None);
            LogReleased(logger, delivery.Id);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or DbUpdateException or InvalidOperationException or TimeoutException)
        {
            LogReleaseFailed(logger, delivery.Id, e.GetType().Name);
        }
    }

    /// <summary>
    /// First transaction: locks the delivery, claims one attempt, renders the email. Null when there is nothing
    /// to send (already handled, not due, or failed permanently before SMTP).
    /// </summary>
    private async Task<(Domain.Delivery.Delivery Delivery, EmailMessage Message)?> ClaimAsync(Guid deliveryId, CancellationToken ct)
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
            // Sent, Failed, Cancelled, or Sending under a live lease elsewhere: a duplicate message sends nothing.
            await db.SaveChangesAsync(ct); // TryStartAttempt may have recorded an interruption
            await tx.CommitAsync(ct);
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
        return message is null ? null : (delivery, message);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} does not exist; message ignored")]
    private static partial void LogUnknown(ILogger logger, Guid deliveryId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} is not due before {ScheduledFor}; early message put back for the due time")]
    private static partial void LogEarly(ILogger logger, Guid deliveryId, DateTimeOffset scheduledFor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} is {Status}; nothing sent")]
    private static partial void LogNothingToDo(ILogger logger, Guid deliveryId, DeliveryStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} cannot be sent (erased, suppressed or not renderable); failed without SMTP")]
    private static partial void LogNotSendable(ILogger logger, Guid deliveryId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} attempt {Attempt} got SMTP {Code} after its lease ran out; another attempt owns the delivery, nothing recorded")]
    private static partial void LogLeaseLost(ILogger logger, Guid deliveryId, int attempt, int code);

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

/// <summary>A few quick retries for database hiccups only; SMTP retries are scheduled by the consumer itself.</summary>
public sealed class DeliverFeedbackConsumerDefinition : ConsumerDefinition<DeliverFeedbackConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<DeliverFeedbackConsumer> consumerConfigurator, IRegistrationContext context)
    {
        consumerConfigurator.UseMessageRetry(r =>
        {
            r.Handle<Npgsql.NpgsqlException>();
            r.Handle<DbUpdateException>();
            r.Handle<TimeoutException>();
            r.Exponential(3, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(500));
        });
    }
}
