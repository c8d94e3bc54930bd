using System.Globalization;
using System.Text.Encodings.Web;
using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.People;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Messages;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Smtp;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Channels;

/// <summary>
/// Emails to the people of a tenant: the invitation and the password reset (their link's token is issued here, when the
/// email is composed, so it exists only in the email), and the notifications that link to the page where work waits.
/// The address is read from the person now; a removed person, or one who turned the notification off, gets nothing.
/// A refused address is not suppressed (it is a colleague's, not a candidate's).
/// </summary>
public sealed class PersonEmailChannel(
    IEmailSender sender, IDkimKeyProvider dkim, IOptions<DeliveryOptions> options, IOptions<InvitationOptions> links,
    IOptions<WorkerEmailOptions> email, UserManager<Person> users)
    : EmailChannel<PersonEmail, SendPersonEmail, EmailPayload>(sender, dkim, options)
{
    public override string Name => OutboundChannels.PersonEmail;

    public override OutcomeAuditNames AuditNames { get; } =
        new("person-email", AuditActions.PersonEmailSent, AuditActions.PersonEmailFailed, AuditActions.PersonEmailCancelled);

    protected override bool SuppressesRefusedRecipients => false;

    public override Guid ItemIdOf(SendPersonEmail message) => message.PersonEmailId;

    protected override SendPersonEmail MessageFor(PersonEmail item) => new(item.Id, item.TenantId);

    protected override async Task<Preparation> PrepareAsync(FeedbackHubDbContext db, PersonEmail item, DateTimeOffset now, CancellationToken ct)
    {
        var person = await db.People.AsNoTracking().SingleAsync(p => p.Id == item.PersonId, ct);
        if (!person.IsActive)
            return Preparation.Cancel("person-removed");
        if (PersonEmail.NotificationOf(item.Kind) is { } notification && !person.Wants(notification))
            return Preparation.Cancel("notification-off");
        if (item.Kind == PersonEmailKind.Invitation && person.HasJoined)
            return Preparation.Cancel("already-joined");

        var tenant = await db.Tenants.Where(t => t.Id == item.TenantId).Select(t => t.Name).SingleAsync(ct);
        var baseUrl = links.Value.PublicBaseUrl.TrimEnd('/');
        var content = item.Kind switch
        {
            PersonEmailKind.Invitation or PersonEmailKind.PasswordReset =>
                AccountEmail(item.Kind, tenant, person, $"{baseUrl}/app/account/set-password?person={person.Id}&token={Uri.EscapeDataString(await users.GeneratePasswordResetTokenAsync(person))}", now),
            _ => await NotificationAsync(db, item, tenant, baseUrl, ct),
        };
        var sender = email.Value;
        return Preparation.Send(new EmailPayload(item.TenantId, new EmailMessage(
            new MailboxAddress(sender.SenderName, sender.SenderAddress),
            new MailboxAddress(person.DisplayName, person.Email!),
            null,
            content.Subject,
            content.Text,
            content.Html,
            $"person-email.{item.Id:N}@{sender.MessageIdDomain}",
            now)));
    }

    private static Content AccountEmail(PersonEmailKind kind, string tenant, Person person, string url, DateTimeOffset now)
    {
        var until = now.Add(PeopleServiceExtensions.LinkLifetime).ToString("d MMMM yyyy, HH:mm 'UTC'", CultureInfo.InvariantCulture);
        return kind == PersonEmailKind.Invitation
            ? Compose(
                $"You are invited to FeedbackHub for {tenant}",
                $"Hello {person.DisplayName},",
                $"You have been invited to write and review candidate feedback for {tenant} in FeedbackHub. Choose your password to get started.",
                "Choose your password", url,
                $"The link works once, until {until}. If you did not expect this invitation, you can ignore this email.")
            : Compose(
                "Reset your FeedbackHub password",
                $"Hello {person.DisplayName},",
                "Someone (we hope you) asked to reset your FeedbackHub password.",
                "Choose a new password", url,
                $"The link works once, until {until}. If you did not ask, ignore this email: your password stays as it is.");
    }

    private static async Task<Content> NotificationAsync(FeedbackHubDbContext db, PersonEmail item, string tenant, string baseUrl, CancellationToken ct)
    {
        var position = item.AboutApplicationId is { } applicationId
            ? await db.Applications.Where(a => a.Id == applicationId).Select(a => a.PositionTitle).SingleOrDefaultAsync(ct)
            : null;
        var role = position is null ? "a role" : $"the {position} role";
        var url = item.AboutApplicationId is { } id ? $"{baseUrl}/app/applications/{id}" : $"{baseUrl}/app/";
        return item.Kind switch
        {
            PersonEmailKind.ChangesRequested => Compose(
                $"Changes requested to your feedback for {role}", "Hello,",
                $"A reviewer asked for changes to the feedback you wrote for a candidate for {role} at {tenant}.",
                "See what to change", url, NotificationFooter),
            PersonEmailKind.AwaitingApproval => Compose(
                $"Feedback for {role} waits for your approval", "Hello,",
                $"Feedback for a candidate for {role} at {tenant} was submitted and waits for a second person to approve it.",
                "Review the feedback", url, NotificationFooter),
            _ => Compose(
                $"A candidate asked for feedback ({role})", "Hello,",
                $"A rejected candidate for {role} at {tenant} asked for feedback. Their note, if they left one, is on the application page.",
                "Open the application", url, NotificationFooter),
        };
    }

    private const string NotificationFooter = "You get this email because of your role in FeedbackHub; you can turn it off under Settings in the app.";

    private sealed record Content(string Subject, string Text, string Html);

    private static Content Compose(string subject, string greeting, string body, string action, string url, string footer)
    {
        var h = HtmlEncoder.Default;
        var text = $"{greeting}\n\n{body}\n\n{action}: {url}\n\n{footer}\n";
        var html =
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"></head><body style=\"font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2933;max-width:640px;margin:0 auto;padding:24px\">"
            + $"<p>{h.Encode(greeting)}</p><p>{h.Encode(body)}</p>"
            + $"<p><a href=\"{h.Encode(url)}\" style=\"display:inline-block;background:#1d4ed8;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none\">{h.Encode(action)}</a></p>"
            + $"<p style=\"color:#52606d;font-size:13px\">{h.Encode(footer)}</p></body></html>";
        return new Content(subject, text, html);
    }
}
