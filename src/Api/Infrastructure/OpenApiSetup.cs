using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace FeedbackHub.Api.Infrastructure;

internal static class OpenApiSetup
{
    public static IServiceCollection AddFeedbackHubOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "FeedbackHub API",
                    Version = "v1",
                    Description = """
                        Legally safe, structured feedback for rejected candidates.

                        Authenticate with an API key: `Authorization: Bearer fh_...`. Every error is an RFC 9457
                        `application/problem+json` document with a stable `type` (see docs/api.md). Lists are cursor-paged
                        (`limit` 1..100, `after` = the `next` of the previous page).
                        """,
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["ApiKey"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API key created with POST /v1/api-keys (or printed by the bootstrap command).",
                };
                return Task.CompletedTask;
            });

            // What FeedbackHub POSTs to webhook subscribers (the document's `webhooks` section) and how to verify it.
            options.AddDocumentTransformer<Features.Webhooks.WebhookOpenApi>();
            options.AddDocumentTransformer<ApiDocumentConventions>();
            options.AddSchemaTransformer(ApiDocumentConventions.TransformSchema);

            // Operations that need a key say so, so Swagger UI sends it.
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                var anonymous = metadata.OfType<IAllowAnonymous>().Any();
                operation.Security ??= [];
                if (!anonymous)
                {
                    operation.Security.Add(new OpenApiSecurityRequirement
                    {
                        [new OpenApiSecuritySchemeReference("ApiKey", context.Document)] = [],
                    });
                }

                ApiDocumentConventions.AddStandardProblems(operation, context.Document!, anonymous);

                if (metadata.OfType<RequestExampleMetadata>().FirstOrDefault() is { } example
                    && operation.RequestBody?.Content?.TryGetValue("application/json", out var media) == true)
                {
                    media.Example = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(example.Value, ExampleJson));
                }

                if (metadata.OfType<IdempotentMetadata>().Any())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = IdempotencyMiddleware.Header,
                        In = ParameterLocation.Header,
                        Required = false,
                        Description = "Optional. Repeating the request with the same key and body replays the first answer (header Idempotency-Replayed: true); the same key with another body answers 422; while the first is running, 409. Keys are kept 24 hours.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 200 },
                    });
                }

                return Task.CompletedTask;
            });
        });

    private static readonly System.Text.Json.JsonSerializerOptions ExampleJson = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase) },
    };

    /// <summary>An example request body shown in the OpenAPI document and Swagger UI.</summary>
    public static RouteHandlerBuilder WithRequestExample(this RouteHandlerBuilder builder, object example) =>
        builder.WithMetadata(new RequestExampleMetadata(example));

    /// <summary>The operation honours Idempotency-Key (creating POSTs).</summary>
    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new IdempotentMetadata()).ProducesProblems(StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);

    /// <summary>Declares the problem responses an operation can give, so the document lists them.</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var status in statusCodes)
            builder.ProducesProblem(status);
        return builder;
    }

    /// <summary>The problems every authenticated operation can give: bad request, 401, 403, and 429.</summary>
    public static RouteHandlerBuilder ProducesAuthProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden);
}

/// <summary>An example request body for the OpenAPI document.</summary>
public sealed record RequestExampleMetadata(object Value);
