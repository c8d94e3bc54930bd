using FeedbackHub.Tests;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace FeedbackHub.Api.Tests.Foundation;

/// <summary>
/// Secrets can come as files, one per setting named like its environment variable, in FEEDBACKHUB_SECRETS_DIR (a
/// Kubernetes Secret mounted as a volume): the API refuses to start without Webhooks:SecretKey, so starting proves the file was read.
/// </summary>
public sealed class SecretFilesTests : IAsyncLifetime
{
    private readonly TestDatabase _database = new();
    private readonly string _secrets = Directory.CreateTempSubdirectory("feedbackhub-secrets-").FullName;

    public Task InitializeAsync() => _database.InitializeAsync();

    public async Task DisposeAsync()
    {
        Directory.Delete(_secrets, recursive: true);
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task The_webhook_key_is_read_from_its_file_in_the_secrets_folder()
    {
        await File.WriteAllTextAsync(Path.Combine(_secrets, "Webhooks__SecretKey"), TestServices.WebhookSecretKey);
        await using var api = new Factory(_database, _secrets);

        (await api.CreateClient().GetAsync("/health/live")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Without_the_file_the_api_refuses_to_start()
    {
        await using var api = new Factory(_database, _secrets);

        var e = Assert.ThrowsAny<Exception>(() => api.CreateClient());
        Assert.Contains("Webhooks:SecretKey", e.ToString(), StringComparison.Ordinal);
    }

    private sealed class Factory(TestDatabase database, string secrets) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Testing");
            builder.UseSetting("ConnectionStrings:Postgres", database.ConnectionString);
            builder.UseSetting("ConnectionStrings:RabbitMq", TestServices.RabbitMq);
            builder.UseSetting("FEEDBACKHUB_SECRETS_DIR", secrets);
            builder.ConfigureLogging(logging => logging.ClearProviders());
        }
    }
}
