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

                if (metadata.OfType<IfMatchMetadata>().Any())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = "If-Match",
                        In = ParameterLocation.Header,
                        Required = false,
                        Description = "The ETag from your last read (e.g. `\"3\"`): if the resource changed since, the write answers 412 `stale-version`. Without it the write is unconditional.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                    });
                }

                if (context.Description.SupportedResponseTypes.Any(t => t.Type is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(Page<>)))
                    ApiDocumentConventions.AddResponseHeader(operation, PageLinks.Header, "`<url>; rel=\"next\"` (RFC 8288) while there is a next page: this request with `after` set to `next`.", StatusCodes.Status200OK);

                foreach (var header in metadata.OfType<ResponseHeaderMetadata>())
                    ApiDocumentConventions.AddResponseHeader(operation, header.Name, header.Description, header.Status);

                if (metadata.OfType<IdempotentMetadata>().Any())
                {
                    ApiDocumentConventions.AddResponseHeader(operation, IdempotencyMiddleware.ReplayedHeader,
                        "`true` when this is the stored answer to an earlier request with the same Idempotency-Key (nothing was done again).");
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

    /// <summary>The operation answers the header (on the given status, or on every 2xx answer), so the document declares it.</summary>
    public static RouteHandlerBuilder WithResponseHeader(this RouteHandlerBuilder builder, string name, string description, int? status = null) =>
        builder.WithMetadata(new ResponseHeaderMetadata(name, description, status));

    /// <summary>The answer carries the resource's version as <c>ETag</c>.</summary>
    public static RouteHandlerBuilder WithETag(this RouteHandlerBuilder builder) =>
        builder.WithResponseHeader("ETag", "The resource's version as an entity tag (e.g. `\"3\"`); send it back in If-Match to change it safely.");

    /// <summary>The write honours <c>If-Match</c> (412 when stale) and answers the new <c>ETag</c>.</summary>
    public static RouteHandlerBuilder WithIfMatch(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new IfMatchMetadata()).WithETag().ProducesProblems(StatusCodes.Status412PreconditionFailed);

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

/// <summary>A response header the operation sets: on <see cref="Status"/>, or on every 2xx answer when null.</summary>
public sealed record ResponseHeaderMetadata(string Name, string Description, int? Status = null);

/// <summary>The operation honours If-Match.</summary>
public sealed class IfMatchMetadata;

/// <summary>An example request body for the OpenAPI document.</summary>
public sealed record RequestExampleMetadata(object Value);
