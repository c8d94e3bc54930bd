using System.Diagnostics;

namespace FeedbackHub.Tests;

/// <summary>
/// Where the real services of the test run are: scripts/test.sh starts PostgreSQL, RabbitMQ and an SMTP
/// sink on loopback and exports these variables. Tests never fake them.
/// </summary>
public static class TestServices
{
    /// <summary>The PostgreSQL server of this test process: a Testcontainers container, or the local one (<see cref="TestPostgres"/>).</summary>
    public static string Postgres => TestPostgres.ConnectionString;

    /// <summary>The PostgreSQL server of scripts/services.sh.</summary>
    public static string LocalPostgres => Required("FEEDBACKHUB_PG");

    public static string RabbitMq => Required("FEEDBACKHUB_RABBITMQ");

    public static string SmtpHost => Required("FEEDBACKHUB_SMTP_HOST");

    public static int SmtpPort => int.Parse(Required("FEEDBACKHUB_SMTP_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Folder with <c>mail/*.eml</c>, <c>smtp-log.jsonl</c> and the fault-injection rules (<c>smtp-rules.d/</c>).</summary>
    public static string SmtpDirectory => Required("FEEDBACKHUB_SMTP_DIR");

    /// <summary>
    /// The <c>Webhooks:SecretKey</c> of this test run (random, base64 of 32 bytes), given to every API and worker host, so
    /// a secret sealed by the API opens in the worker.
    /// </summary>
    public static string WebhookSecretKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>Runs <c>scripts/services.sh --profile PROFILE COMMAND</c> (e.g. stop-rabbit / start-rabbit).</summary>
    public static async Task RunServicesCommandAsync(string command)
    {
        var psi = new ProcessStartInfo(Required("FEEDBACKHUB_SERVICES_SCRIPT"), ["--profile", Required("FEEDBACKHUB_PROFILE"), command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("services.sh did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"services.sh {command} failed ({process.ExitCode}): {await stdout} {await stderr}");
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set. Run the tests with scripts/test.sh, which starts PostgreSQL, RabbitMQ and SMTP and sets it.");
}
