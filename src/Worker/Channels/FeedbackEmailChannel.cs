using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Rendering;
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
public sealed class FeedbackEmailChannel(IEmailSender sender, IDkimKeyProvider dkim, IOptions<DeliveryOptions> options)
    : EmailChannel<Domain.Delivery.Delivery, DeliverFeedback, EmailPayload>(sender, dkim, options)
{
    public override string Name => OutboundChannels.FeedbackEmail;

    public override OutcomeAuditNames AuditNames { get; } =
        new("delivery", AuditActions.DeliverySent, AuditActions.DeliveryFailed, AuditActions.DeliveryCancelled, AuditActions.DeliverySuppressed);

    public override Guid ItemIdOf(DeliverFeedback message) => message.DeliveryId;

    protected override DeliverFeedback MessageFor(Domain.Delivery.Delivery item) => new(item.Id, item.TenantId);

    protected override async Task<Preparation> PrepareAsync(FeedbackHubDbContext db, Domain.Delivery.Delivery delivery, DateTimeOffset now, CancellationToken ct)
    {
        var recipient = await DeliveryScheduling.RecipientAsync(db, delivery.TenantId, delivery.ApplicationId, ct);
        if (recipient.ErasedAt is not null)
            return NotSendable("Not sent: the candidate's personal data was erased.");
        if (recipient.Status != ApplicationStatus.Rejected)
            return Preparation.Cancel("application-reopened");
        // Whether the address is suppressed, the answers and the template version they fill in, in one round trip
        // (read-only: nothing here is tracked).
        var suppressions = DeliveryScheduling.Suppressions(db, delivery.TenantId, recipient.Email);
        var source = await (
            from f in db.Feedback.AsNoTracking()
            join v in db.TemplateVersions.AsNoTracking() on new { f.TemplateId, Number = f.TemplateVersion } equals new { v.TemplateId, v.Number }
            where f.Id == delivery.FeedbackId
            select new { f.Answers, v.Content, Suppressed = suppressions.Any() }).SingleAsync(ct);
        if (source.Suppressed)
            return NotSendable("Not sent: the address is suppressed for this tenant after an earlier permanent SMTP failure.");
        try
        {
            var rendered = FeedbackEmailRenderer.Render(source.Content, source.Answers, recipient.MergeValues, recipient.Footer);
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

    protected override Task<bool> RecipientErasedAsync(FeedbackHubDbContext db, Domain.Delivery.Delivery item, CancellationToken ct) =>
        CandidateErasedAsync(db, item.ApplicationId, ct);

    /// <summary>Whether the application's candidate was erased. Read under the application's lock, which erasure takes too: it is final until this transaction ends.</summary>
    internal static Task<bool> CandidateErasedAsync(FeedbackHubDbContext db, Guid applicationId, CancellationToken ct) =>
        (from a in db.Applications.IgnoreQueryFilters()
         join c in db.Candidates.IgnoreQueryFilters() on a.CandidateId equals c.Id
         where a.Id == applicationId
         select c.ErasedAt != null).SingleAsync(ct);
}
