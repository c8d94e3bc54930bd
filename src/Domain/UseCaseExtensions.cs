using FeedbackHub.Domain.Applications;
using FeedbackHub.Domain.Authoring;
using FeedbackHub.Domain.Delivery;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FeedbackHub.Domain;

public static class UseCaseExtensions
{
    /// <summary>
    /// Registers the use cases every front door calls (the API's endpoints, the web app's pages), one application
    /// service per feature, scoped like the DbContext they work on. The host registers <see cref="Persistence.TenantLanguage"/>
    /// (it brings the sentence model) and binds <see cref="Delivery.PublicLinkOptions"/>.
    /// </summary>
    public static IServiceCollection AddFeedbackHubUseCases(this IServiceCollection services)
    {
        services.TryAddSingleton<PublishedTemplateContent>();
        services.AddScoped<FeedbackAuthoring>();
        services.AddScoped<ApplicationLifecycle>();
        services.AddScoped<CandidateRequests>();
        services.AddScoped<FeedbackEmails>();
        return services;
    }
}
