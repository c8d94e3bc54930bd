using System.Globalization;
using System.Text.Encodings.Web;
using FeedbackHub.Domain.Delivery;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbox;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Smtp;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Consumers;

public sealed class InvitationOptions
{
    /// <summary>Public base URL of candidate links (the API's <c>FeedbackHub:PublicBaseUrl</c>).</summary>
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5080";
}

/// <summary>
/// Sends the invitation to ask for feedback. The candidate's link is issued here, at send time, so the token exists
/// only in the email; it is committed before the email is sent, so it works as soon as the email arrives. Idempotent through the inbox and the invitation's status; 4xx and unreachable servers are
/// retried by MassTransit, 5xx fails the invitation and suppresses the address.
/// </summary>
public sealed partial class SendInvitationConsumer(
    FeedbackHubDbContext db, IServiceScopeFactory scopes, ISmtpSender smtp, TimeProvider time, IOptions<InvitationOptions> options, IOptions<WorkerEmailOptions> email,
    ILogger<SendInvitationConsumer> logger) : IConsumer<SendInvitation>
{
    public async Task Consume(ConsumeContext<SendInvitation> context)
    {
        var ct = context.CancellationToken;
        var messageId = context.MessageId ?? throw new InvalidOperationException("Messages must carry a MessageId.");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (!await db.TryClaimAsync(messageId, nameof(SendInvitationConsumer), time.GetUtcNow(), ct))
            return;

        var found = await db.Invitations.AsNoTracking().Where(i => i.Id == context.Message.InvitationId)
            .Select(i => new { i.ApplicationId }).SingleOrDefaultAsync(ct);
        if (found is null)
        {
            await tx.CommitAsync(ct);
            return;
        }

        // The application's lock orders the send against an erasure: either the erasure waits until this email is
        // sent (and then scrubs its reply and revokes its link), or this consumer finds the invitation cancelled.
        await DeliveryScheduling.LockApplicationAsync(db, found.ApplicationId, ct);
        var invitation = await db.Invitations.SingleAsync(i => i.Id == context.Message.InvitationId, ct);
        if (invitation.Status != InvitationStatus.Queued)
        {
            await tx.CommitAsync(ct);
            LogNotQueued(logger, invitation.Id, invitation.Status);
            return;
        }

        var row = await DeliveryScheduling.RecipientAsync(db, invitation.TenantId, invitation.ApplicationId, ct);
        var now = time.GetUtcNow();
        if (row.ErasedAt is not null || row.Status != ApplicationStatus.Rejected || row.RejectedAt is not { } rejectedAt)
        {
            invitation.MarkFailed("Not sent: the candidate was erased or the application is no longer rejected.");
        }
        else if (rejectedAt.AddDays(row.Settings.RequestWindowDays) <= now)
        {
            invitation.MarkFailed("Not sent: the request window ended before the email could be sent.");
        }
        else if (await DeliveryScheduling.IsSuppressedAsync(db, invitation.TenantId, row.Email, ct))
        {
            invitation.MarkFailed("Not sent: the address refused mail before (suppressed).");
        }
        else
        {
            var expiresAt = rejectedAt.AddDays(row.Settings.RequestWindowDays);
            var (link, token) = FeedbackRequestLink.Issue(invitation.TenantId, invitation.ApplicationId, expiresAt, now);
            // The link is committed on its own before the email leaves: it works the moment the email arrives, and
            // still works if this process dies after the SMTP server accepted the email but before the commit below.
            await using (var linkScope = scopes.CreateAsyncScope())
            {
                var linkDb = linkScope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
                linkDb.FeedbackRequestLinks.Add(link);
                await linkDb.SaveChangesAsync(ct);
            }

            var url = $"{options.Value.PublicBaseUrl.TrimEnd('/')}/r/{token}";
            var message = Compose(row.Settings, row.Company, row.FirstName, row.Email, row.PositionTitle, url, expiresAt, invitation.Id, email.Value.MessageIdDomain, now);

            // A 4xx or an unreachable server throws: the transaction rolls back, the unsent link is revoked and MassTransit retries.
            // A connection lost after the whole email was handed over keeps the link: that email may be in the candidate's inbox.
            SmtpReply reply;
            try
            {
                reply = await smtp.SendAsync(message, ct);
                if (!reply.IsPositive && !reply.IsPermanentFailure)
                    throw new SmtpUnavailableException($"SMTP server answered {reply.Code}; will retry.");
            }
            catch (Exception e) when (e is not SmtpUnavailableException { MayHaveBeenAccepted: true })
            {
                await RevokeUnsentLinkAsync(link.Id, CancellationToken.None);
                throw;
            }

            // The server has answered: the outcome is committed even if the transport cancels the message now (a rollback
            // would leave the invitation queued and email it again).
            ct = CancellationToken.None;

            if (reply.IsPositive)
            {
                invitation.MarkSent(reply.ToString(), time.GetUtcNow());
            }
            else
            {
                invitation.MarkFailed(reply.ToString());
                await db.Database.ExecuteSqlAsync($"UPDATE feedback_request_links SET revoked_at = {now} WHERE id = {link.Id} AND revoked_at IS NULL", ct);
                await DeliveryScheduling.SuppressAsync(db, invitation.TenantId, row.Email, reply.ToString(), now, ct);
            }
        }

        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        LogFinished(logger, invitation.Id, invitation.Status);
    }

    /// <summary>The email with this link did not leave: nobody holds its token, but it should not stay usable.</summary>
    private async Task RevokeUnsentLinkAsync(Guid linkId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var linkDb = scope.ServiceProvider.GetRequiredService<FeedbackHubDbContext>();
        var now = time.GetUtcNow();
        await linkDb.Database.ExecuteSqlAsync($"UPDATE feedback_request_links SET revoked_at = {now} WHERE id = {linkId} AND revoked_at IS NULL", ct);
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Invitation {InvitationId} is {Status}; nothing sent")]
    private static partial void LogNotQueued(ILogger logger, Guid invitationId, InvitationStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Invitation {InvitationId} finished as {Status}")]
    private static partial void LogFinished(ILogger logger, Guid invitationId, InvitationStatus status);
}

public sealed class SendInvitationConsumerDefinition : ConsumerDefinition<SendInvitationConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SendInvitationConsumer> consumerConfigurator, IRegistrationContext context) =>
        consumerConfigurator.UseMessageRetry(r => r.Exponential(6, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(2)));
}
