using System.Collections.Concurrent;
using System.Net.Http.Headers;
using FeedbackHub.Domain.Model;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FeedbackHub.Tests;

/// <summary>The real Api host over a per-class database with the real migrations; logs are captured.</summary>
public sealed class ApiFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public TestDatabase Database { get; } = new();

    public CapturedLogs Logs { get; } = new();

    /// <summary>Extra configuration a test class needs (set before the first client is created).</summary>
    public Dictionary<string, string?> Settings { get; } = [];

    /// <summary>Service changes a test class needs (set before the first client is created), applied after the host's own.</summary>
    public List<Action<IServiceCollection>> ServiceChanges { get; } = [];

    private bool _kestrel;

    public async Task InitializeAsync() => await Database.InitializeAsync();

    /// <summary>
    /// Serve over real Kestrel on a loopback port (for what only the real server does: its own protocol errors, HEAD).
    /// Call before the first client; later calls do nothing.
    /// </summary>
    public void UseRealServer()
    {
        if (_kestrel)
            return;
        _kestrel = true;
        UseKestrel(0);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        await Database.DisposeAsync();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = Database.ConnectionString,
            ["ConnectionStrings:RabbitMq"] = TestServices.RabbitMq,
            ["Webhooks:SecretKey"] = TestServices.WebhookSecretKey,
            ["FeedbackHub:ApiDocs"] = "true", // the OpenAPI document and Swagger UI (off by default outside Development)
        };
        foreach (var (key, value) in Settings)
            settings[key] = value; // a test class's settings win
        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(settings));
        // Logs go to the capture (asserted on), not the console: the test output stays readable.
        builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(Logs));
        builder.ConfigureServices(services => ServiceChanges.ForEach(change => change(services)));
    }

    /// <summary>Creates a tenant with the real bootstrap code and returns it with an admin key.</summary>
    public async Task<TestTenant> CreateTenantAsync(string? name = null, TenantSettings? settings = null)
    {
        using var scope = Services.CreateScope();
        scope.ServiceProvider.GetRequiredService<FeedbackHub.Api.Infrastructure.HttpTenantScope>().SystemAccess = true;
        var (tenant, adminKey) = await FeedbackHub.Api.Commands.HostCommands.CreateTenantAsync(
            scope.ServiceProvider, name ?? "Tenant " + Guid.NewGuid().ToString("N")[..6], settings ?? TenantSettings.Default, DateTimeOffset.UtcNow);
        return new TestTenant(this, tenant.Id, adminKey);
    }

    public HttpClient ClientWithKey(string? key)
    {
        var client = CreateClient();
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}

/// <summary>A tenant created for one test, with its admin key and a way to mint keys for other roles.</summary>
public sealed record TestTenant(ApiFactory Factory, Guid Id, string AdminKey)
{
    public HttpClient Admin => Factory.ClientWithKey(AdminKey);

    /// <summary>Creates a key with the given roles straight in the database (as an admin would over the API).</summary>
    public async Task<string> KeyAsync(params string[] roles)
    {
        await using var db = Factory.Database.CreateDbContext();
        var (key, secret) = ApiKey.Create(Id, "Test " + string.Join("+", roles), roles, "test", DateTimeOffset.UtcNow);
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync();
        return secret;
    }

    public async Task<HttpClient> ClientAsync(params string[] roles) => Factory.ClientWithKey(await KeyAsync(roles));
}

/// <summary>Every log line the host wrote, rendered, so tests can assert what never appears in logs.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}"))
                : string.Empty;
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {structured} {exception}");
        }
    }
}
