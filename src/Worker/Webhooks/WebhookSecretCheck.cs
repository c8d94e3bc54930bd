using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Worker.Webhooks;

/// <summary>Resolves the <see cref="WebhookSecretBox"/> at startup, so a missing or wrong Webhooks:SecretKey stops the worker with a clear message.</summary>
internal sealed class WebhookSecretCheck(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<WebhookSecretBox>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
