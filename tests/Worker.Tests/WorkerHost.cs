using FeedbackHub.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FeedbackHub.Tests;

/// <summary>
/// The real worker (MassTransit on the real RabbitMQ, outbox relay, SMTP) in-process, on a test class's
/// database. Its broker entities carry a unique prefix, so parallel test classes never share queues.
/// </summary>
public sealed class WorkerHost : IAsyncDisposable
{
    private readonly IHost _host;

    private WorkerHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    /// <summary>Every log line the worker wrote at Warning and above (Information and above for FeedbackHub's own categories).</summary>
    public CapturedLogs Logs { get; private init; } = new();

    /// <param name="services">Replaces registrations after the worker's own (a test double for a dependency).</param>
    /// <param name="environment">The host environment; "Development" where a test needs a development-only switch.</param>
    public static async Task<WorkerHost> StartAsync(
        string postgres, string prefix, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, string environment = "Testing")
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = environment });
        var configuration = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = postgres,
            ["ConnectionStrings:RabbitMq"] = TestServices.RabbitMq,
            ["Smtp:Host"] = TestServices.SmtpHost,
            ["Smtp:Port"] = TestServices.SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Smtp:Security"] = "None", // the shared capture sink speaks plain SMTP
            ["RabbitMq:Prefix"] = prefix,
            ["Outbox:PollInterval"] = "00:00:00.050",
            ["Webhooks:SecretKey"] = TestServices.WebhookSecretKey,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            configuration[key] = value; // the caller's settings win
        builder.Configuration.AddInMemoryCollection(configuration);
        var logs = new CapturedLogs();
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("MassTransit", LogLevel.Error)
            .AddFilter<CapturedLogs>("FeedbackHub", LogLevel.Information).AddProvider(logs);
        builder.AddFeedbackHubWorker();
        services?.Invoke(builder.Services);
        var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(timeout.Token);
        return new WorkerHost(host) { Logs = logs };
    }

    public T Get<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
