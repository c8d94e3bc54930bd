using FeedbackHub.Domain.Email;

namespace FeedbackHub.Worker.Smtp;

/// <summary>
/// <see cref="IEmailSender"/> over the pooled SMTP client: each reply (or failure) with the stage it came from, turned
/// into a verdict by the one rule (<see cref="SmtpClassification"/>). Sends unsigned (it ignores <see cref="EmailMessage.Dkim"/>).
/// </summary>
public sealed class SmtpPoolEmailSender(SmtpClientPool pool) : IEmailSender
{
    public async Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await pool.SendAsync(message, cancellationToken);
            return Result(reply.Stage, reply.Code, reply.Text, mayHaveBeenAccepted: false);
        }
        catch (SmtpUnavailableException e) when (e.Reply is { } reply)
        {
            return Result(e.Stage, reply.Code, reply.Text, e.MayHaveBeenAccepted);
        }
        catch (SmtpUnavailableException e)
        {
            return new SendResult(SmtpClassification.Classify(e.Stage, 0, null), e.Stage, 0, null, e.Message, e.MayHaveBeenAccepted);
        }
    }

    private static SendResult Result(SmtpStage stage, int code, string text, bool mayHaveBeenAccepted)
    {
        var enhanced = SmtpClassification.EnhancedCode(text);
        return new SendResult(SmtpClassification.Classify(stage, code, enhanced), stage, code, enhanced, text, mayHaveBeenAccepted);
    }
}
