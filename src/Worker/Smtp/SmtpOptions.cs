using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Smtp;

/// <summary>How the connection to the mail server is encrypted.</summary>
public enum SmtpSecurity
{
    /// <summary>Plain SMTP, never encrypted: only for a relay on the same host or a local capture server.</summary>
    None,

    /// <summary>Plain connect, then STARTTLS, required: a server that does not offer it is refused (port 587, 25).</summary>
    StartTls,

    /// <summary>STARTTLS when the server offers it, plain otherwise (open to downgrade by anyone on the path).</summary>
    StartTlsWhenAvailable,

    /// <summary>TLS from the first byte (port 465).</summary>
    SslOnConnect,
}

/// <summary>Section <c>Smtp</c>: the mail server (relay) the worker hands every email to. See docs/email.md.</summary>
public sealed class SmtpOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 25;

    /// <summary>Name sent in EHLO.</summary>
    public string ClientName { get; set; } = "feedbackhub-worker";

    /// <summary>Unset: <see cref="SmtpSecurity.SslOnConnect"/> on port 465, <see cref="SmtpSecurity.StartTls"/> (required) on any other port.</summary>
    public SmtpSecurity? Security { get; set; }

    /// <summary>AUTH is used only when a username is set. Both come from secrets or the environment and are never logged.</summary>
    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>
    /// The most connections this worker process keeps open to the mail server, all reused between emails: a send waits
    /// for a free one rather than opening another (connect, EHLO, TLS and AUTH are paid once per connection, not per email).
    /// </summary>
    public int MaxConnections { get; set; } = 8;

    /// <summary>How long one SMTP read or write may take, including the server's answer after the final ".".</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long opening a connection may take: TCP connect, greeting, EHLO, TLS and AUTH together.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Development only: accept any server certificate (self-signed test servers). Honoured only when the host environment is
    /// Development, with a warning at start; in any other environment the worker refuses to start while it is set.
    /// </summary>
    public bool AllowUntrustedCertificates { get; set; }

    public SmtpSecurity EffectiveSecurity => Security ?? (Port == 465 ? SmtpSecurity.SslOnConnect : SmtpSecurity.StartTls);

    public bool UsesAuthentication => !string.IsNullOrEmpty(Username);
}

/// <summary>Refuses to start on settings that cannot work or that would weaken TLS outside Development.</summary>
public sealed class SmtpOptionsValidator(IHostEnvironment environment) : IValidateOptions<SmtpOptions>
{
    public ValidateOptionsResult Validate(string? name, SmtpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Host))
            errors.Add("Smtp:Host is required.");
        if (options.Port is < 1 or > 65535)
            errors.Add($"Smtp:Port must be between 1 and 65535 (is {options.Port}).");
        if (options.UsesAuthentication && string.IsNullOrEmpty(options.Password))
            errors.Add("Smtp:Password is required when Smtp:Username is set (from a secret or the Smtp__Password environment variable).");
        if (!options.UsesAuthentication && !string.IsNullOrEmpty(options.Password))
            errors.Add("Smtp:Password is set without Smtp:Username: set both, or neither to send without AUTH.");
        if (options.MaxConnections < 1)
            errors.Add($"Smtp:MaxConnections must be at least 1 (is {options.MaxConnections}).");
        if (options.CommandTimeout <= TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero)
            errors.Add("Smtp:CommandTimeout and Smtp:ConnectTimeout must be positive.");
        if (options.AllowUntrustedCertificates && !environment.IsDevelopment())
        {
            errors.Add(
                $"Smtp:AllowUntrustedCertificates is a development-only switch and the environment is {environment.EnvironmentName}: "
                + "remove it and install the mail server's CA certificate (or use a certificate from a public CA).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Says once at start how the worker reaches its mail server, and warns about the weakening switches.</summary>
internal sealed partial class SmtpStartupLog(IOptions<SmtpOptions> options, ILogger<SmtpStartupLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        LogRelay(logger, o.Host, o.Port, o.EffectiveSecurity, o.UsesAuthentication ? "with AUTH" : "without AUTH");
        if (o.AllowUntrustedCertificates)
            LogUntrusted(logger, o.Host, o.Port);
        if (o.UsesAuthentication && o.EffectiveSecurity is SmtpSecurity.None or SmtpSecurity.StartTlsWhenAvailable)
            LogClearText(logger, o.EffectiveSecurity);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "SMTP relay {Host}:{Port}, security {Security}, {Auth}")]
    private static partial void LogRelay(ILogger logger, string host, int port, SmtpSecurity security, string auth);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Smtp:AllowUntrustedCertificates is on (Development): any certificate from {Host}:{Port} is accepted, so TLS protects nothing against an attacker on the path")]
    private static partial void LogUntrusted(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Smtp:Username is set with Smtp:Security {Security}: the password can cross the network unencrypted; use StartTls or SslOnConnect")]
    private static partial void LogClearText(ILogger logger, SmtpSecurity security);
}
