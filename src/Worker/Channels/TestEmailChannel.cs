using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Channels;

/// <summary>The diagnostic email an admin asked for, from the worker's own sender. A refused recipient is not suppressed (it is the admin's address, not a candidate's).</summary>
public sealed class TestEmailChannel(IEmailSender sender, IDkimKeyProvider dkim, IOptions<DeliveryOptions> options, IOptions<WorkerEmailOptions> email)
    : EmailChannel<TestEmail, SendTestEmail, EmailPayload>(sender, dkim, options)
{
    public override string Name => OutboundChannels.TestEmail;

    public override OutcomeAuditNames AuditNames { get; } = new("test-email", AuditActions.TestEmailSent, AuditActions.TestEmailFailed, AuditActions.TestEmailFailed);

    protected override bool SuppressesRefusedRecipients => false;

    public override Guid ItemIdOf(SendTestEmail message) => message.TestEmailId;

    protected override SendTestEmail MessageFor(TestEmail item) => new(item.Id, item.TenantId);

    protected override async Task<Preparation> PrepareAsync(FeedbackHubDbContext db, TestEmail item, DateTimeOffset now, CancellationToken ct)
    {
        var tenantName = await db.Tenants.Where(t => t.Id == item.TenantId).Select(t => t.Name).SingleAsync(ct);
        var options = email.Value;
        return Preparation.Send(new EmailPayload(item.TenantId, new EmailMessage(
            new MailboxAddress(options.SenderName, options.SenderAddress),
            new MailboxAddress(null, item.Recipient),
            null,
            "FeedbackHub test email",
            $"This is a test email from FeedbackHub for {tenantName}.\n\nIf you can read this, the delivery pipeline works: API, outbox, RabbitMQ, worker and SMTP.\n",
            null,
            $"test-email.{item.Id:N}@{options.MessageIdDomain}",
            now)));
    }
}
