using FeedbackHub.Domain.Email;

namespace FeedbackHub.Worker.Smtp;

/// <summary>Where in the SMTP conversation an answer or a failure came (RFC 5321 section 3).</summary>
public enum SmtpStage
{
    /// <summary>TCP connect and the server's greeting.</summary>
    Connect,

    /// <summary>STARTTLS or the implicit-TLS handshake, including certificate validation.</summary>
    Tls,

    Ehlo,

    Auth,

    MailFrom,

    RcptTo,

    /// <summary>The DATA command, the body and the server's answer after the final ".".</summary>
    Data,
}

/// <summary>What an SMTP answer means for the email and for the address it was sent to.</summary>
public enum SendVerdict
{
    /// <summary>The server accepted the email (2xx after the final ".").</summary>
    Accepted,

    /// <summary>
    /// This recipient was refused for good (5xx at RCPT TO with an addressing or mailbox enhanced code, or none): the
    /// email fails and the address is suppressed. The only verdict that suppresses.
    /// </summary>
    RecipientRefused,

    /// <summary>A 4xx anywhere, a lost connection or a timeout: try again later; counts against the attempt budget.</summary>
    Deferred,

    /// <summary>
    /// The mail server or our configuration is wrong (5xx at connect, EHLO, AUTH, MAIL FROM or DATA, a policy 5.7.x at
    /// RCPT TO such as "relaying denied", a TLS or authentication failure): the operator's problem, never the
    /// candidate's. The email waits and is tried again (not counted against the budget), nothing is suppressed, and the
    /// worker's readiness reports the mail server unhealthy until an email is accepted again.
    /// </summary>
    ServerProblem,
}

/// <summary>
/// The outcome of one send: verdict, the stage it came from, the server's code and enhanced status code
/// (RFC 3463, e.g. "5.1.1"; null when the server sent none) and its text. Code 0: no answer (connection or TLS failure, timeout).
/// </summary>
public sealed record SendResult(SendVerdict Verdict, SmtpStage Stage, int Code, string? EnhancedCode, string Text, bool MayHaveBeenAccepted = false)
{
    public bool IsAccepted => Verdict == SendVerdict.Accepted;

    /// <summary>"250 2.0.0 OK" style; the text alone when there was no answer.</summary>
    public override string ToString() => Code == 0 ? Text : $"{Code} {Text}";
}

/// <summary>Sends one email over SMTP. The only way the worker hands email to a mail server.</summary>
public interface IEmailSender
{
    /// <summary>
    /// Sends one message (DKIM-signed when <see cref="EmailMessage.Dkim"/> is set) and says what became of it. Never throws
    /// for SMTP, TLS, authentication or network failures: they are results. The token is honoured only until the message
    /// is handed over: an <see cref="OperationCanceledException"/> means the server never received the end of the message
    /// (so it cannot have accepted it). Once the final "." is sent the answer is awaited under the command timeout alone,
    /// and a failure from then on is a <see cref="SendVerdict.Deferred"/> result with <see cref="SendResult.MayHaveBeenAccepted"/>.
    /// </summary>
    Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken);
}

/// <summary>The one rule that turns an SMTP answer into a verdict (RFC 5321 reply codes, RFC 3463 enhanced codes).</summary>
public static class SmtpClassification
{
    public static SendVerdict Classify(SmtpStage stage, int code, string? enhancedCode)
    {
        if (code is >= 200 and < 400)
            return stage == SmtpStage.Data ? SendVerdict.Accepted : SendVerdict.Deferred;
        if (code is >= 400 and < 500 || code == 0)
            return stage is SmtpStage.Tls or SmtpStage.Auth && code == 0 ? SendVerdict.ServerProblem : SendVerdict.Deferred;
        if (stage != SmtpStage.RcptTo)
            return SendVerdict.ServerProblem;
        // 5xx at RCPT TO. Enhanced class 5.1 (addressing) and 5.2 (mailbox) name this recipient; 5.3 (mail system),
        // 5.4 (routing), 5.5 (protocol), 5.6 (content) and 5.7 (policy: relaying denied, authentication required) are
        // about us or the server. Without an enhanced code, a 5xx at RCPT TO is taken at its word.
        // Except 5.1.7 and 5.1.8 (bad sender's address or system): servers that check MAIL FROM late (Postfix by default)
        // refuse our sender at RCPT TO, and that must not suppress the candidate.
        var subject = enhancedCode is { Length: >= 3 } e && e[1] == '.' ? e[2] : (char?)null;
        if (enhancedCode is "5.1.7" or "5.1.8")
            return SendVerdict.ServerProblem;
        return subject is null or '1' or '2' ? SendVerdict.RecipientRefused : SendVerdict.ServerProblem;
    }

    /// <summary>The enhanced status code at the start of a reply text ("5.1.1 No such user" gives "5.1.1"), or null.</summary>
    public static string? EnhancedCode(string text)
    {
        var span = text.AsSpan().TrimStart();
        var end = span.IndexOf(' ');
        var token = end < 0 ? span : span[..end];
        var parts = token.ToString().Split('.');
        return parts.Length == 3 && parts[0] is "2" or "4" or "5" && parts[1].Length is >= 1 and <= 3 && parts[2].Length is >= 1 and <= 3
               && parts[1].All(char.IsAsciiDigit) && parts[2].All(char.IsAsciiDigit)
            ? token.ToString()
            : null;
    }
}

/// <summary>Finds the tenant's DKIM key for a sender address (its domain must match the key's domain); null: send unsigned.</summary>
public interface IDkimKeyProvider
{
    Task<DkimSigning?> ForSenderAsync(Guid tenantId, string senderAddress, CancellationToken cancellationToken);
}

/// <summary>No tenant has a DKIM key: every email goes out unsigned.</summary>
public sealed class NoDkimKeys : IDkimKeyProvider
{
    public Task<DkimSigning?> ForSenderAsync(Guid tenantId, string senderAddress, CancellationToken cancellationToken) => Task.FromResult<DkimSigning?>(null);
}
