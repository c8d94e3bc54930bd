using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
using FeedbackHub.Domain.Templates;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Channels;

/// <summary>
/// Approved feedback to the candidate who asked for it. Under the application's lock, before anything leaves: a reopened
/// application cancels it (nothing is sent); an erased candidate, a suppressed address or a missing merge value fail it
/// without SMTP; otherwise the email is rendered (the same renderer as the preview) with its deterministic Message-ID.
/// </summary>
public sealed class FeedbackEmailChannel(IEmailSender sender, IDkimKeyProvider dkim, IOptions<DeliveryOptions> options, PublishedTemplateContent templates)
    : EmailChannel<Domain.Delivery.Delivery, DeliverFeedback, EmailPayload>(sender, dkim, options)
{
    public override string Name => OutboundChannels.FeedbackEmail;

    public override OutcomeAuditNames AuditNames { get; } =
        new("delivery", AuditActions.DeliverySent, AuditActions.DeliveryFailed, AuditActions.DeliveryCancelled, AuditActions.DeliverySuppressed);

    public override Guid ItemIdOf(DeliverFeedback message) => message.DeliveryId;

    protected override DeliverFeedback MessageFor(Domain.Delivery.Delivery item) => new(item.Id, item.TenantId);

    protected override async Task<Preparation> PrepareAsync(FeedbackHubDbContext db, Domain.Delivery.Delivery delivery, DateTimeOffset now, CancellationToken ct) =>
        (await PrepareManyAsync(db, [delivery], now, ct))[0];

    /// <summary>
    /// Three queries for the whole batch, whatever its size (the recipients, which of their addresses are suppressed, the
    /// answers; read-only, nothing tracked), the template versions they fill in from <see cref="PublishedTemplateContent"/>
    /// (a published version never changes: read and parsed once per process), then each email decided and rendered.
    /// </summary>
    protected override async Task<IReadOnlyList<Preparation>> PrepareManyAsync(
        FeedbackHubDbContext db, IReadOnlyList<Domain.Delivery.Delivery> items, DateTimeOffset now, CancellationToken ct)
    {
        var recipients = await CandidateRecipientsAsync(db, items, ct);
        var feedbackIds = items.Select(d => d.FeedbackId).Distinct().ToList();
        var sources = await db.Feedback.AsNoTracking()
            .Where(f => feedbackIds.Contains(f.Id))
            .Select(f => new { f.Id, f.Answers, f.TemplateId, f.TemplateVersion })
            .ToDictionaryAsync(x => x.Id, ct);

        var prepared = new List<Preparation>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var (delivery, index) = (items[i], i);
            prepared.Add(await OfItemAsync(delivery.Id, async () =>
            {
                var recipient = recipients.Of(index);
                if (recipient.ErasedAt is not null)
                    return NotSendable("Not sent: the candidate's personal data was erased.");
                if (recipient.Status != ApplicationStatus.Rejected)
                    return Preparation.Cancel("application-reopened");
                if (recipients.IsSuppressed(index))
                    return NotSendable("Not sent: the address is suppressed for this tenant after an earlier permanent SMTP failure.");
                var source = sources[delivery.FeedbackId];
                var content = await templates.GetAsync(db, delivery.TenantId, source.TemplateId, source.TemplateVersion, ct);
                return Render(delivery, recipient, content, source.Answers, now);
            }));
        }

        return prepared;
    }

    private static Preparation Render(Domain.Delivery.Delivery delivery, Recipient recipient, TemplateContent content, IReadOnlyList<Answer> answers, DateTimeOffset now)
    {
        try
        {
            var rendered = FeedbackEmailRenderer.Render(content, answers, recipient.MergeValues, recipient.Footer);
            var settings = recipient.Settings;
            return Preparation.Send(new EmailPayload(delivery.TenantId, new EmailMessage(
                new MailboxAddress(settings.SenderName, settings.SenderAddress),
                new MailboxAddress(recipient.FirstName, recipient.Email),
                settings.ReplyTo is { Length: > 0 } replyTo ? new MailboxAddress(null, replyTo) : null,
                rendered.Subject,
                rendered.Text,
                rendered.Html,
                delivery.MessageId,
                now)));
        }
        catch (DomainException e) when (e.Code == "missing-merge-value")
        {
            return NotSendable("Not sent: " + e.Message);
        }
    }
}
