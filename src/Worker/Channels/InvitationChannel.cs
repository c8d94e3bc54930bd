using System.Globalization;
using System.Text.Encodings.Web;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Smtp;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Channels;

public sealed class InvitationOptions
{
    /// <summary>Public base URL of candidate links (the API's <c>FeedbackHub:PublicBaseUrl</c>).</summary>
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5080";
}

/// <summary>An invitation ready to go, with the link it carries (revoked again if the email surely did not leave).</summary>
public sealed record InvitationPayload(Guid TenantId, EmailMessage Message, Guid LinkId) : EmailPayload(TenantId, Message);

/// <summary>
/// The invitation to ask for feedback. Under the application's lock: a reopened application cancels it; an erased
/// candidate, an ended request window or a suppressed address fail it without SMTP. Otherwise the candidate's link is
/// issued here, at send time (the token exists only in the email), and committed with the claim, before the email
/// leaves: it works as soon as the email arrives. It is revoked again when the email surely did not leave (not handed
/// over, refused, a server problem, a failure before the final "."), and kept when it may have been accepted.
/// </summary>
public sealed class InvitationChannel(
    IEmailSender sender, IDkimKeyProvider dkim, IOptions<DeliveryOptions> options, IOptions<InvitationOptions> invitations, IOptions<WorkerEmailOptions> email)
    : EmailChannel<Invitation, SendInvitation, InvitationPayload>(sender, dkim, options)
{
    public override string Name => OutboundChannels.Invitation;

    public override OutcomeAuditNames AuditNames { get; } =
        new("invitation", AuditActions.InvitationSent, AuditActions.InvitationFailed, AuditActions.InvitationCancelled, AuditActions.InvitationSuppressed);

    public override Guid ItemIdOf(SendInvitation message) => message.InvitationId;

    protected override SendInvitation MessageFor(Invitation item) => new(item.Id, item.TenantId);

    protected override async Task<Preparation> PrepareAsync(FeedbackHubDbContext db, Invitation invitation, DateTimeOffset now, CancellationToken ct) =>
        (await PrepareManyAsync(db, [invitation], now, ct))[0];

    /// <summary>Two queries for the whole batch (<see cref="EmailChannel{TItem, TMessage, TPayload}.CandidateRecipientsAsync"/>), then each invitation decided and composed.</summary>
    protected override async Task<IReadOnlyList<Preparation>> PrepareManyAsync(
        FeedbackHubDbContext db, IReadOnlyList<Invitation> items, DateTimeOffset now, CancellationToken ct)
    {
        var recipients = await CandidateRecipientsAsync(db, items, ct);
        var prepared = new List<Preparation>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var (invitation, index) = (items[i], i);
            prepared.Add(OfItem(invitation.Id, () =>
            {
                var row = recipients.Of(index);
                if (row.ErasedAt is not null)
                    return NotSendable("Not sent: the candidate's personal data was erased.");
                if (row.Status != ApplicationStatus.Rejected || row.RejectedAt is not { } rejectedAt)
                    return Preparation.Cancel("application-reopened");
                var expiresAt = rejectedAt.AddDays(row.Settings.RequestWindowDays);
                if (expiresAt <= now)
                    return NotSendable("Not sent: the request window ended before the email could be sent.");
                if (recipients.IsSuppressed(index))
                    return NotSendable("Not sent: the address refused mail before (suppressed).");

                var (link, token) = FeedbackRequestLink.Issue(invitation.TenantId, invitation.ApplicationId, expiresAt, now);
                db.FeedbackRequestLinks.Add(link);
                var url = $"{invitations.Value.PublicBaseUrl.TrimEnd('/')}/r/{token}";
                var message = Compose(row.Settings, row.Company, row.FirstName, row.Email, row.PositionTitle, url, expiresAt, invitation.Id, email.Value.MessageIdDomain, now);
                return Preparation.Send(new InvitationPayload(invitation.TenantId, message, link.Id));
            }));
        }

        return prepared;
    }

    protected override async Task<bool> OnAnswerAsync(
        FeedbackHubDbContext db, Invitation item, InvitationPayload payload, AttemptAnswer answer, bool erased, DateTimeOffset now, CancellationToken ct)
    {
        // Kept when the email may be in the candidate's inbox; an email that surely did not leave leaves no usable link behind.
        if (answer.Outcome != AttemptOutcome.Accepted && !answer.MayHaveBeenAccepted)
            await RevokeAsync(db, payload.LinkId, now, ct);
        return await base.OnAnswerAsync(db, item, payload, answer, erased, now, ct);
    }

    protected override Task OnNotSentAsync(FeedbackHubDbContext db, Invitation item, InvitationPayload payload, DateTimeOffset now, CancellationToken ct) =>
        RevokeAsync(db, payload.LinkId, now, ct);

    private static Task<int> RevokeAsync(FeedbackHubDbContext db, Guid linkId, DateTimeOffset now, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"UPDATE feedback_request_links SET revoked_at = {now} WHERE id = {linkId} AND revoked_at IS NULL", ct);

    internal static EmailMessage Compose(
        TenantSettings settings, string company, string firstName, string address, string position, string url, DateTimeOffset until,
        Guid invitationId, string messageIdDomain, DateTimeOffset now)
    {
        var date = until.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);
        var text =
            $"Dear {firstName},\n\nThank you for applying for the {position} role at {company}. We have decided not to move forward with your application, "
            + "and we know that is not the news you hoped for.\n\n"
            + $"If it would help you, we are happy to share structured feedback from your interviews. You can ask for it here until {date}:\n{url}\n\n"
            + $"There is no need to reply to this email, and no obligation of any kind.\n\nKind regards,\nThe {company} hiring team\n";
        var h = HtmlEncoder.Default;
        var html =
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2933;max-width:640px;margin:0 auto;padding:24px\">"
            + $"<p>Dear {h.Encode(firstName)},</p>"
            + $"<p>Thank you for applying for the {h.Encode(position)} role at {h.Encode(company)}. We have decided not to move forward with your application, and we know that is not the news you hoped for.</p>"
            + $"<p>If it would help you, we are happy to share structured feedback from your interviews. You can <a href=\"{h.Encode(url)}\">ask for it here</a> until {h.Encode(date)}.</p>"
            + $"<p>There is no need to reply to this email, and no obligation of any kind.</p><p>Kind regards,<br>The {h.Encode(company)} hiring team</p></body></html>";
        return new EmailMessage(
            new MailboxAddress(settings.SenderName, settings.SenderAddress),
            new MailboxAddress(firstName, address),
            settings.ReplyTo is { } replyTo ? new MailboxAddress(null, replyTo) : null,
            $"Your application to {company}: would you like feedback?",
            text,
            html,
            $"invitation.{invitationId:N}@{messageIdDomain}",
            now);
    }
}
