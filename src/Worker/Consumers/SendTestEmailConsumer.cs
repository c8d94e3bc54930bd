using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Smtp;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Consumers;

public sealed class WorkerEmailOptions
{
    public string SenderAddress { get; set; } = "noreply@feedbackhub.local";

    public string SenderName { get; set; } = "FeedbackHub";

    /// <summary>Right-hand side of generated Message-IDs.</summary>
    public string MessageIdDomain { get; set; } = "feedbackhub.local";
}

/// <summary>
/// Sends a diagnostic email. Idempotent: the inbox row is claimed in the same transaction that records
/// the result, so a redelivered message finds it and sends nothing.
/// </summary>
public sealed partial class SendTestEmailConsumer(
    FeedbackHubDbContext db, ISmtpSender smtp, TimeProvider time, IOptions<WorkerEmailOptions> emailOptions, ILogger<SendTestEmailConsumer> logger)
    : IConsumer<SendTestEmail>
{
    public async Task Consume(ConsumeContext<SendTestEmail> context)
    {
        var ct = context.CancellationToken;
        var messageId = context.MessageId ?? throw new InvalidOperationException("Messages must carry a MessageId.");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (!await db.TryClaimAsync(messageId, nameof(SendTestEmailConsumer), time.GetUtcNow(), ct))
        {
            LogDuplicate(logger, messageId);
            return;
        }

        var email = await db.TestEmails.SingleOrDefaultAsync(e => e.Id == context.Message.TestEmailId, ct);
        if (email is null || email.Status != TestEmailStatus.Queued)
        {
            await tx.CommitAsync(ct);
            return;
        }

        var tenantName = await db.Tenants.Where(t => t.Id == email.TenantId).Select(t => t.Name).SingleAsync(ct);
        var options = emailOptions.Value;
        var now = time.GetUtcNow();
        var message = new EmailMessage(
            new MailboxAddress(options.SenderName, options.SenderAddress),
            new MailboxAddress(null, email.Recipient),
            null,
            "FeedbackHub test email",
            $"This is a test email from FeedbackHub for {tenantName}.\n\nIf you can read this, the delivery pipeline works: API, outbox, RabbitMQ, worker and SMTP.\n",
            null,
            $"test-email.{email.Id:N}@{options.MessageIdDomain}",
            now);

        // A 4xx or an unreachable server throws, the transaction rolls back, and MassTransit retries.
        var reply = await smtp.SendAsync(message, ct);
        if (reply.IsPositive)
            email.MarkSent(time.GetUtcNow(), reply.ToString());
        else if (reply.IsPermanentFailure)
            email.MarkFailed(reply.ToString());
        else
            throw new SmtpUnavailableException($"SMTP server answered {reply.Code}; will retry.");

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        LogSent(logger, email.Id, reply.Code);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} was already processed; nothing sent")]
    private static partial void LogDuplicate(ILogger logger, Guid messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Test email {TestEmailId} finished with SMTP {Code}")]
    private static partial void LogSent(ILogger logger, Guid testEmailId, int code);
}

public sealed class SendTestEmailConsumerDefinition : ConsumerDefinition<SendTestEmailConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SendTestEmailConsumer> consumerConfigurator, IRegistrationContext context)
    {
        consumerConfigurator.UseMessageRetry(r => r.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500)));
    }
}
