using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Domain.Webhooks;

public static class WebhookServiceExtensions
{
    /// <summary>
    /// Registers the <see cref="WebhookSecretBox"/> from <c>Webhooks:SecretKey</c> (and <c>Webhooks:PreviousSecretKeys</c>), read when first needed (hosts resolve
    /// it at startup, so a missing or wrong key stops the host with a clear message).
    /// </summary>
    public static IServiceCollection AddWebhookSecrets(this IServiceCollection services)
    {
        services.TryAddSingleton(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            return WebhookSecretBox.FromConfiguration(configuration[WebhookSecretBox.ConfigurationKey], configuration[WebhookSecretBox.PreviousKeysConfigurationKey]);
        });
        return services;
    }
}
