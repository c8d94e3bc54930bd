using System.Text.Json.Serialization;
using FeedbackHub.Api.Features.ApiKeys;
using FeedbackHub.Api.Features.Applications;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Features.Candidates;
using FeedbackHub.Api.Features.Diagnostics;
using FeedbackHub.Api.Features.Feedback;
using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Features.Requests;
using FeedbackHub.Api.Features.Deliveries;
using FeedbackHub.Api.Features.Settings;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace FeedbackHub.Api.Infrastructure;

public static class ApiServiceExtensions
{
    /// <summary>Largest request body accepted (bytes); bigger bodies answer 413.</summary>
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    public static WebApplicationBuilder AddFeedbackHubApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        services.AddFeedbackHubDatabase();
        services.AddWebhookSecrets();
        services.AddHttpContextAccessor();
        services.AddScoped<HttpTenantScope>();
        services.AddScoped<ITenantScope>(sp => sp.GetRequiredService<HttpTenantScope>());
        services.AddScoped<CurrentActor>();

        // Unreadable bodies and parameters throw, so the exception handler answers one problem shape.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(json =>
        {
            var o = json.SerializerOptions;
            o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            o.RespectNullableAnnotations = true;
            o.RespectRequiredConstructorParameters = true;
            o.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        });

        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            ctx.ProblemDetails.Extensions["traceId"] = ctx.HttpContext.TraceIdentifier;
            // Problems the framework writes (status code pages) get our stable types too.
            if (ctx.ProblemDetails.Type is null || ctx.ProblemDetails.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
                ctx.ProblemDetails.Type = ctx.ProblemDetails.Status switch
            {
                404 => Problems.Type("not-found"),
                405 => Problems.Type("method-not-allowed"),
                413 => Problems.Type("payload-too-large"),
                415 => Problems.Type("unsupported-media-type"),
                _ => Problems.Type("http-" + ctx.ProblemDetails.Status),
            };
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();

        services.AddAuthentication(ApiKeyClaims.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyClaims.Scheme, null);
        services.AddAuthorization(Policies.Add);

        services.Configure<PublicLinkOptions>(builder.Configuration.GetSection("FeedbackHub"));
        services.Configure<TenantSettingsOptions>(builder.Configuration.GetSection("FeedbackHub"));
        services.AddCandidateRateLimits();
        services.AddSingleton<LanguageCheckers>();
        services.AddSingleton<TenantLanguage>();
        services.AddFeedbackHubOpenApi();

        services.AddHealthChecks()
            .AddCheck<RabbitMqHealthCheck>("rabbitmq", tags: ["ready"]);

        return builder;
    }

    public static WebApplication UseFeedbackHubApi(this WebApplication app)
    {
        // Fails the start with a clear message when Webhooks:SecretKey is missing or not 32 bytes.
        _ = app.Services.GetRequiredService<WebhookSecretBox>();
        app.UseFeedbackHubForwardedHeaders(); // first: everything after sees the client's address (off unless proxies are configured)
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimit>();
        app.UseRateLimiter();
        app.UseMiddleware<RequestLogging>();
        // Swagger UI is static files, served before authorization (the OpenAPI document is public too).
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/openapi/v1.json", "FeedbackHub API v1");
            ui.RoutePrefix = "swagger";
            ui.DocumentTitle = "FeedbackHub API";
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<IdempotencyMiddleware>();

        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponse.Write }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthResponse.Write }).AllowAnonymous();
        app.MapGet("/", () => Results.Redirect("/swagger")).ExcludeFromDescription().AllowAnonymous();

        app.MapApiKeyEndpoints();
        app.MapApplicationEndpoints();
        app.MapAuditEndpoints();
        app.MapDiagnosticsEndpoints();
        app.MapTemplateEndpoints();
        app.MapFeedbackEndpoints();
        app.MapLanguageEndpoints();
        app.MapRejectionEndpoints();
        app.MapDeliveryEndpoints();
        app.MapPublicRequestEndpoints();
        app.MapSettingsEndpoints();
        app.MapWebhookEndpoints();
        app.MapCandidateEndpoints();
        app.MapLegalHoldEndpoints();
        return app;
    }
}
