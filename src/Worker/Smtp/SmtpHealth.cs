using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FeedbackHub.Worker.Smtp;

/// <summary>
/// Whether the mail server takes our email, as the last sends found it: a <see cref="SendVerdict.ServerProblem"/> makes it
/// unhealthy with a reason that says what to fix (stage, codes and a fixed hint; never the server's text, which can quote
/// an address, and never a credential), an accepted email makes it healthy again. Readiness check "smtp". One log line
/// per change of state, not per email.
/// </summary>
public sealed partial class SmtpHealth(ILogger<SmtpHealth> logger) : IHealthCheck
{
    private readonly Lock _lock = new();
    private string? _problem;

    /// <summary>The current problem, or null when the server takes email (or nothing was sent yet).</summary>
    public string? Problem
    {
        get
        {
            lock (_lock)
                return _problem;
        }
    }

    public void ReportProblem(string reason)
    {
        lock (_lock)
        {
            if (_problem == reason)
                return;
            _problem = reason;
        }

        LogProblem(logger, reason);
    }

    public void ReportAccepted(string endpoint)
    {
        lock (_lock)
        {
            if (_problem is null)
                return;
            _problem = null;
        }

        LogRecovered(logger, endpoint);
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Problem is { } problem ? HealthCheckResult.Unhealthy(problem) : HealthCheckResult.Healthy());

    [LoggerMessage(Level = LogLevel.Error, Message = "{Reason}. Emails wait and are retried; nothing is suppressed")]
    private static partial void LogProblem(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "SMTP server {Endpoint} accepts email again")]
    private static partial void LogRecovered(ILogger logger, string endpoint);
}

/// <summary>
/// What an operator should fix, from where the server refused and its codes. Fixed texts: the server's own text is never
/// part of it (it can quote an address).
/// </summary>
internal static class SmtpProblems
{
    public static string Describe(SmtpStage stage, int code, string? enhancedCode, string endpoint)
    {
        var codes = code == 0 ? string.Empty : enhancedCode is null ? $" ({code})" : $" ({code} {enhancedCode})";
        var authRequired = code == 530;
        return stage switch
        {
            SmtpStage.Connect when code != 0 =>
                $"The SMTP server {endpoint} refused the connection at its greeting{codes}: check Smtp:Host and Smtp:Port, and that the relay accepts connections from this host",
            SmtpStage.Connect => $"Cannot reach the SMTP server {endpoint}: check Smtp:Host and Smtp:Port",
            SmtpStage.Tls when code != 0 => $"The SMTP server {endpoint} refused STARTTLS{codes}: check Smtp:Security",
            SmtpStage.Tls => $"TLS with {endpoint} failed: check Smtp:Security and Smtp:Port",
            SmtpStage.Ehlo => $"The SMTP server {endpoint} refused EHLO{codes}: check Smtp:ClientName",
            SmtpStage.Auth => $"SMTP authentication failed at {endpoint}{codes}: check Smtp:Username and Smtp:Password",
            SmtpStage.MailFrom or SmtpStage.RcptTo when authRequired =>
                $"The server {endpoint} refused {Command(stage)}{codes}: it requires authentication; set Smtp:Username/Smtp:Password",
            SmtpStage.MailFrom =>
                $"The server {endpoint} refused MAIL FROM{codes}: check that the sender address (Email:SenderAddress or the tenant's sender) is allowed at the relay (a verified sender or domain)",
            SmtpStage.RcptTo when enhancedCode is ['5', '.', '1', '.', ..] =>
                $"The server {endpoint} refused the sender at RCPT TO{codes}: check the sender address and that its domain resolves (MX or A record)",
            SmtpStage.RcptTo =>
                $"The server {endpoint} refused a recipient for a policy reason{codes}, such as relaying denied: check Smtp:Username/Smtp:Password and that the relay accepts our sender domain",
            _ => $"The server {endpoint} refused the message after DATA{codes}: check the relay's size and content limits and the sender domain's SPF, DKIM and DMARC",
        };
    }

    private static string Command(SmtpStage stage) => stage == SmtpStage.MailFrom ? "MAIL FROM" : "RCPT TO";
}
