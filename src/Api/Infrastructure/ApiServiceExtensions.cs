using System.Text.Json.Serialization;
using FeedbackHub.Api.Features.ApiKeys;
using FeedbackHub.Api.Features.Applications;
using FeedbackHub.Api.Features.Audit;
using FeedbackHub.Api.Features.Candidates;
using FeedbackHub.Api.Features.Diagnostics;
using FeedbackHub.Api.Features.Feedback;
using FeedbackHub.Api.Features.Language;
using FeedbackHub.Api.Features.People;
using FeedbackHub.Api.Web;
using FeedbackHub.Domain.People;
using FeedbackHub.Api.Features.Requests;
using FeedbackHub.Api.Features.Deliveries;
using FeedbackHub.Api.Features.Settings;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Api.Features.Webhooks;
using FeedbackHub.Domain;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;
using FeedbackHub.Domain.Persistence;
using FeedbackHub.Domain.Telemetry;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace FeedbackHub.Api.Infrastructure;

public static class ApiServiceExtensions
{
    /// <summary>Largest request body accepted (bytes); bigger bodies answer 413.</summary>
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    public static WebApplicationBuilder AddFeedbackHubApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ConfigureEndpointDefaults(ProtocolErrorBodies.Use);
        });

        builder.Configuration.AddKeyPerFile(SecretFiles.Directory(builder.Configuration), optional: true);
        builder.AddFeedbackHubTelemetry("feedbackhub-api", ApiTelemetry.Tracing, ApiTelemetry.Metrics);
        services.AddFeedbackHubDatabase();
        services.AddFeedbackHubUseCases();
        services.AddWebhookSecrets();
        services.Configure<Features.Webhooks.WebhookApiOptions>(builder.Configuration.GetSection("Webhooks"));
        services.AddSingleton<WebhookSender>(); // POST /v1/webhooks/{id}/ping
        services.AddHttpContextAccessor();
        services.AddScoped<HttpTenantScope>();
        services.AddScoped<ITenantScope>(sp => sp.GetRequiredService<HttpTenantScope>());
        services.AddScoped<CurrentActor>();

        // Unreadable bodies and parameters throw, so the exception handler answers one problem shape.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(json =>
        {
            var o = json.SerializerOptions;
            // Strict reading (docs/api.md, "JSON"): exact camelCase names, no duplicate names, numbers as numbers.
            o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            o.PropertyNameCaseInsensitive = false;
            o.AllowDuplicateProperties = false;
            o.NumberHandling = JsonNumberHandling.Strict;
            o.RespectNullableAnnotations = true;
            o.RespectRequiredConstructorParameters = true;
            o.Converters.Add(new JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase, allowIntegerValues: false));
            o.Converters.Add(new UtcTimeConverter()); // answers say Z, as webhook bodies do
        });

        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            ctx.ProblemDetails.Extensions["traceId"] = ctx.HttpContext.TraceIdentifier;
            ctx.ProblemDetails.Detail ??= ctx.ProblemDetails.Status switch
            {
                StatusCodes.Status415UnsupportedMediaType => "Send the body as application/json (UTF-8).",
                StatusCodes.Status405MethodNotAllowed => "This path does not take this method; the Allow header lists the ones it takes.",
                StatusCodes.Status404NotFound => "No such resource or path.",
                _ => null,
            };
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
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>(); // after the framework's writer: answers what it declines
        services.AddExceptionHandler<ProblemExceptionHandler>();

        services.AddSingleton<ApiKeyCache>();
        services.AddHostedService<ApiKeyChangeListener>();
        services.AddAuthentication(ApiKeyClaims.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyClaims.Scheme, null)
            .AddIdentityCookies();
        services.AddFeedbackHubPeople()
            .AddSignInManager<PersonSignInManager>()
            .AddClaimsPrincipalFactory<PersonClaimsFactory>();
        services.AddPeopleSessions(builder.Environment);
        services.AddFeedbackHubWebApp();
        services.AddScoped<Web.WorkCounts>();
        services.AddAuthorization(Policies.Add);

        services.Configure<Domain.Delivery.PublicLinkOptions>(builder.Configuration.GetSection("FeedbackHub"));
        services.Configure<TenantSettingsOptions>(builder.Configuration.GetSection("FeedbackHub"));
        services.AddCandidateRateLimits();
        services.AddSingleton<ISentenceClassifier>(SentenceClassifier.Shared); // loads on first use or in the warm-up
        services.AddSingleton<LanguageCheckers>();
        services.AddSingleton<TenantLanguage>();
        services.AddHostedService<Features.Language.LanguageModelWarmUp>();
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
        app.UseMiddleware<ResponseHeaders>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseFeedbackHubWebAppPages();
        // Routing after the error handlers: a page's error or 404 re-executed at /app/error/{status} is routed to that
        // page (with routing first, the re-executed request has no endpoint and the fallback policy answers 401).
        app.UseRouting();
        app.UseMiddleware<RequestBodyLimit>();
        app.UseMiddleware<RequestCharset>();
        app.UseRateLimiter();
        app.UseMiddleware<RequestLogging>();
        app.UseMiddleware<IdempotentRetry>(); // before authentication: the key lookup is often what meets a dead connection
        var apiDocs = ApiDocsEnabled(app);
        if (apiDocs)
        {
            // Swagger UI is static files, served before authorization (the OpenAPI document is public too).
            app.UseSwaggerUI(ui =>
            {
                ui.SwaggerEndpoint("/openapi/v1.json", "FeedbackHub API v1");
                ui.RoutePrefix = "swagger";
                ui.DocumentTitle = "FeedbackHub API";
            });
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<IdempotencyMiddleware>();

        if (apiDocs)
        {
            app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
            app.MapGet("/", () => Results.Redirect("/swagger")).ExcludeFromDescription().AllowAnonymous();
        }

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponse.Write }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = HealthResponse.Write }).AllowAnonymous();

        // Every operation: its strings checked by one rule, HEAD answered wherever GET is, pages linked to the next.
        var api = app.MapGroup(string.Empty).ValidateRequestText().WithHeadForGet().WithPageLinks();
        api.MapApiKeyEndpoints();
        api.MapPeopleEndpoints();
        api.MapApplicationEndpoints();
        api.MapAuditEndpoints();
        api.MapDiagnosticsEndpoints();
        api.MapTemplateEndpoints();
        api.MapFeedbackEndpoints();
        api.MapLanguageEndpoints();
        api.MapRejectionEndpoints();
        api.MapDeliveryEndpoints();
        api.MapPublicRequestEndpoints();
        api.MapSettingsEndpoints();
        api.MapWebhookEndpoints();
        api.MapCandidateEndpoints();
        api.MapLegalHoldEndpoints();
        app.MapFeedbackHubWebApp();
        return app;
    }

    /// <summary>
    /// <c>FeedbackHub:ApiDocs</c>: whether the OpenAPI document and Swagger UI are served; on in Development, off
    /// elsewhere unless configured.
    /// </summary>
    private static bool ApiDocsEnabled(WebApplication app) =>
        app.Configuration.GetValue("FeedbackHub:ApiDocs", app.Environment.IsDevelopment());

    /// <summary>GET endpoints answer HEAD too (same status and headers, no body; Kestrel drops the body of a HEAD answer).</summary>
    private static RouteGroupBuilder WithHeadForGet(this RouteGroupBuilder group)
    {
        ((IEndpointConventionBuilder)group).Add(endpoint =>
        {
            if (endpoint.Metadata.OfType<HttpMethodMetadata>().LastOrDefault() is { } methods
                && methods.HttpMethods.Contains(HttpMethods.Get) && !methods.HttpMethods.Contains(HttpMethods.Head))
                endpoint.Metadata.Add(new HttpMethodMetadata([.. methods.HttpMethods, HttpMethods.Head], methods.AcceptCorsPreflight));
        });
        return group;
    }
}
