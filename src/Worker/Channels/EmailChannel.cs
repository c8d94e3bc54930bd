using FeedbackHub.Domain;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Worker.Outbound;
using FeedbackHub.Worker.Smtp;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Channels;

/// <summary>An email ready to be handed to the sender, and the tenant it is sent for.</summary>
public record EmailPayload(Guid TenantId, EmailMessage Message);

/// <summary>The <c>Email</c> configuration section: the worker's own sender, for system emails.</summary>
public sealed class WorkerEmailOptions
{
    public string SenderAddress { get; set; } = "noreply@feedbackhub.local";

    public string SenderName { get; set; } = "FeedbackHub";

    /// <summary>Right-hand side of generated Message-IDs.</summary>
    public string MessageIdDomain { get; set; } = "feedbackhub.local";
}

/// <summary>
/// What every email channel shares: the hand-over to <see cref="IEmailSender"/> (the one place an email gets its DKIM key),
/// what its verdicts mean (Accepted: sent; RecipientRefused: failed, and for emails to candidates the address
/// suppressed unless the candidate was erased; Deferred: retried, counted; ServerProblem: retried, not counted, nothing
/// suppressed), and the retry policy of the <c>Delivery</c> section.
/// </summary>
public abstract class EmailChannel<TItem, TMessage, TPayload>(IEmailSender sender, IDkimKeyProvider dkim, IOptions<DeliveryOptions> options)
    : OutboundChannel<TItem, TMessage, TPayload>
    where TItem : OutboundItem
    where TMessage : class
    where TPayload : EmailPayload
{
    public override RetryPolicy RetryPolicy { get; } =
        new(options.Value.MaxAttempts, options.Value.FirstBackoff, TimeSpan.FromHours(1), options.Value.ServerProblemRetry);

    /// <summary>Whether a recipient refused for good is suppressed for the tenant (emails to candidates: yes).</summary>
    protected virtual bool SuppressesRefusedRecipients => true;

    protected override async Task<AttemptAnswer> SendAsync(TPayload payload, OutboundClaim claim, CancellationToken ct)
    {
        var message = payload.Message;
        DkimSigning? key;
        try
        {
            key = await dkim.ForSenderAsync(payload.TenantId, message.From.Address, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new NotHandedOverException("The sender's DKIM key could not be read; nothing was sent.", e);
        }

        return EmailAnswers.From(await sender.SendAsync(message with { Dkim = key }, ct));
    }

    /// <summary>
    /// The items sent to an application's candidate (those guarded by their application: feedback emails, invitations)
    /// whose candidate was erased, in one query. Read under the applications' locks, which erasure takes too.
    /// </summary>
    protected override async Task<IReadOnlySet<Guid>> ErasedRecipientsAsync(FeedbackHubDbContext db, IReadOnlyList<TItem> items, CancellationToken ct)
    {
        var applications = items.Select(i => i.GuardingApplicationId).OfType<Guid>().Distinct().ToList();
        if (applications.Count == 0)
            return new HashSet<Guid>();
        var erased = await DeliveryScheduling.ErasedApplicationsAsync(db, applications, ct);
        return items.Where(i => i.GuardingApplicationId is { } a && erased.Contains(a)).Select(i => i.Id).ToHashSet();
    }

    /// <summary>
    /// The candidates a batch of items (guarded by their application: feedback emails, invitations) goes to, and which of
    /// their addresses are suppressed, in two queries: what every such channel checks before it renders.
    /// </summary>
    protected static async Task<CandidateRecipients> CandidateRecipientsAsync(FeedbackHubDbContext db, IReadOnlyList<TItem> items, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(items);
        var recipients = await DeliveryScheduling.RecipientsAsync(db, [.. items.Select(i => i.GuardingApplicationId).OfType<Guid>().Distinct()], ct);
        var found = items.Select(i => i.GuardingApplicationId is { } a && recipients.TryGetValue(a, out var r) && r.TenantId == i.TenantId ? r.Recipient : null).ToList();
        var suppressed = await DeliveryScheduling.SuppressedAsync(db, [.. items.Select((item, i) => (item.TenantId, found[i]?.Email ?? string.Empty))], ct);
        return new CandidateRecipients(found, suppressed);
    }

    /// <summary>What <see cref="CandidateRecipientsAsync"/> read, by the item's index in the batch.</summary>
    protected sealed class CandidateRecipients(IReadOnlyList<Recipient?> recipients, IReadOnlySet<int> suppressed)
    {
        /// <summary>The item's candidate; a missing application (or one of another tenant) is the item's own failure.</summary>
        public Recipient Of(int index) => recipients[index] ?? throw DomainException.NotFound("The application");

        public bool IsSuppressed(int index) => suppressed.Contains(index);
    }

    protected override async Task<bool> OnAnswerAsync(FeedbackHubDbContext db, TItem item, TPayload payload, AttemptAnswer answer, bool erased, DateTimeOffset now, CancellationToken ct)
    {
        // Only this recipient's permanent refusal suppresses (server problems, 4xx and failures elsewhere never do), and
        // not once the candidate was erased: the suppression list holds an address's hash, which erasure removes.
        if (answer.Outcome != AttemptOutcome.PermanentFailure || !SuppressesRefusedRecipients || erased)
            return false;
        await DeliveryScheduling.SuppressAsync(db, payload.TenantId, payload.Message.To.Address, $"{answer.Code} {answer.Detail}".Trim(), now, ct);
        return true;
    }

    /// <summary>A failure before sending (no SMTP conversation): the item fails with this reason as its reply.</summary>
    protected static Preparation NotSendable(string reason) => Preparation.Fail(new AttemptAnswer(AttemptOutcome.PermanentFailure, null, reason));
}

/// <summary>What an SMTP result means for the outbound core.</summary>
public static class EmailAnswers
{
    /// <summary>An SMTP result as an attempt's answer; the detail is the stage and the enhanced code (no text: it can quote the address).</summary>
    public static AttemptAnswer From(SendResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var outcome = result.Verdict switch
        {
            SendVerdict.Accepted => AttemptOutcome.Accepted,
            SendVerdict.RecipientRefused => AttemptOutcome.PermanentFailure,
            SendVerdict.ServerProblem => AttemptOutcome.ServerProblem,
            _ => AttemptOutcome.TransientFailure,
        };
        var detail = $"{StageName(result.Stage)} {result.EnhancedCode}".TrimEnd();
        return new AttemptAnswer(outcome, result.Code == 0 ? null : result.Code, result.ToString(), detail, MayHaveBeenAccepted: result.MayHaveBeenAccepted);
    }

    private static string StageName(SmtpStage stage) => stage switch
    {
        SmtpStage.MailFrom => "mail-from",
        SmtpStage.RcptTo => "rcpt-to",
        _ => stage.ToString().ToLowerInvariant(),
    };
}
