using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// What the whole document says the same way for every operation: the one problem schema (RFC 9457 with the
/// members this API adds), the statuses any operation of a given shape can answer, the server's public URL (never
/// the Host header), the licence and the tag descriptions.
/// </summary>
internal sealed class ApiDocumentConventions(IOptions<Domain.Delivery.PublicLinkOptions> links) : IOpenApiDocumentTransformer
{
    public const string ProblemSchema = "ProblemDetails";

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["API keys"] = "Keys for systems (ATS integrations) and their roles; the secret is shown once.",
        ["People"] = "The people who sign in to the web app: invited by an admin, with roles; removing one ends their sessions.",
        ["Applications"] = "Applications and their candidates as the ATS reports them; rejection and the candidate's request link.",
        ["Audit"] = "The tenant's tamper-evident audit log and its verification.",
        ["Candidates"] = "Finding, exporting and erasing a candidate's personal data; legal holds.",
        ["Deliveries"] = "Feedback emails: when they are due, every attempt and the mail server's answer.",
        ["Diagnostics"] = "Proving the delivery pipeline end to end with a test email.",
        ["Feedback"] = "Writing feedback from a template, the language check, submission and four-eyes approval, the email preview.",
        ["Language"] = "The language checker: checking text, the rule catalog, and the tenant's own terms and allowed phrases.",
        ["Candidate requests"] = "What the candidate's personal link does, without an API key: see the company, position and status, and ask for feedback.",
        ["Settings"] = "The tenant's settings: cooling-off, request window, sender, jurisdiction, retention, and the DKIM key emails are signed with.",
        ["Templates"] = "Legally reviewed feedback templates with immutable published versions.",
        ["Webhooks"] = "Signed event notifications to the ATS: subscriptions, deliveries and their attempts.",
    };

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Servers = [new OpenApiServer { Url = links.Value.PublicBaseUrl.TrimEnd('/') }];
        document.Info.License = new OpenApiLicense { Name = "Proprietary", Identifier = "LicenseRef-FeedbackHub-Proprietary" };

        // GET endpoints answer HEAD too (docs/api.md); the document lists each operation once.
        foreach (var path in document.Paths.Values.OfType<OpenApiPathItem>())
            path.Operations?.Remove(HttpMethod.Head);

        // Headers any answer of a kind carries: the request id on all, Location on 201, Retry-After on 429.
        foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
        {
            foreach (var (status, response) in operation.Responses ?? [])
            {
                if (response is not OpenApiResponse r)
                    continue;
                AddHeader(r, ResponseHeaders.RequestId, "Identifies this request in FeedbackHub's logs (the same value as `traceId` in problem answers); quote it when you report a problem.");
                if (status == "201")
                    AddHeader(r, "Location", "The created resource's path.");
                if (status == "429")
                    AddHeader(r, "Retry-After", "Seconds to wait before trying again.", JsonSchemaType.Integer);
            }
        }

        var used = document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? [])
            .SelectMany(o => o.Tags ?? new HashSet<OpenApiTagReference>()).Select(t => t.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        document.Tags = new HashSet<OpenApiTag>(used.Order(StringComparer.Ordinal).Select(name => new OpenApiTag
        {
            Name = name,
            Description = TagDescriptions.TryGetValue(name, out var description) ? description : name,
        }));
        return Task.CompletedTask;
    }

    /// <summary>Declares a response header on the given status, or on every 2xx answer when <paramref name="status"/> is null.</summary>
    public static void AddResponseHeader(OpenApiOperation operation, string name, string description, int? status = null)
    {
        foreach (var (key, response) in operation.Responses ?? [])
        {
            if (response is OpenApiResponse r && (status is null ? key.StartsWith('2') : key == status.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                AddHeader(r, name, description);
        }
    }

    private static void AddHeader(OpenApiResponse response, string name, string description, JsonSchemaType type = JsonSchemaType.String)
    {
        response.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase);
        response.Headers.TryAdd(name, new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } });
    }

    /// <summary>
    /// Adds the problem answers every operation of this shape can give, so the document lists every status: any
    /// operation 400 (unreadable parameters); with a key 401 and 403; with parameters or a body 422 (a value breaks a
    /// rule); with a body 413 and 415; any operation 503 with Retry-After (the database is briefly unreachable).
    /// </summary>
    public static void AddStandardProblems(OpenApiOperation operation, OpenApiDocument document, bool anonymous)
    {
        var statuses = new List<int> { StatusCodes.Status400BadRequest, StatusCodes.Status503ServiceUnavailable };
        if (!anonymous)
            statuses.AddRange([StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden]);
        if (operation.RequestBody is not null)
            statuses.AddRange([StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType, StatusCodes.Status422UnprocessableEntity]);
        if (operation.Parameters?.Any(p => p.In is ParameterLocation.Query or ParameterLocation.Path) == true)
            statuses.Add(StatusCodes.Status422UnprocessableEntity);

        operation.Responses ??= [];
        foreach (var status in statuses)
        {
            var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses.ContainsKey(key))
                continue;
            operation.Responses[key] = new OpenApiResponse
            {
                Description = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status),
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) },
                },
                Headers = status == StatusCodes.Status503ServiceUnavailable
                    ? new Dictionary<string, IOpenApiHeader>
                    {
                        ["Retry-After"] = new OpenApiHeader
                        {
                            Description = "Seconds to wait before repeating the request.",
                            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer },
                        },
                    }
                    : null,
            };
        }
    }

    private static ApiValuesAttribute? ValuesOf(OpenApiSchemaTransformerContext context) =>
        context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(typeof(ApiValuesAttribute), inherit: true).OfType<ApiValuesAttribute>().FirstOrDefault()
        ?? (context.ParameterDescription?.ParameterDescriptor as IParameterInfoParameterDescriptor)?.ParameterInfo.GetCustomAttribute<ApiValuesAttribute>();

    /// <summary>
    /// The problem schema as the API writes it: RFC 9457 members, <c>traceId</c> always, <c>errors</c> (field path to
    /// messages) on validation problems, and other extension members where a problem type documents them. Enums are strings.
    /// </summary>
    public static Task TransformSchema(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type == typeof(ProblemDetails) || context.JsonTypeInfo.Type == typeof(HttpValidationProblemDetails))
        {
            schema.Description = "An RFC 9457 problem. `type` is stable (urn:feedbackhub:problem:...), `traceId` identifies the request in the logs, `errors` lists bad fields by path. Some problem types add members of their own (docs/api.md).";
            schema.Required = new HashSet<string>(StringComparer.Ordinal) { "type", "title", "status", "traceId" };
            schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
            schema.Properties["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Stable identifier of the problem, e.g. urn:feedbackhub:problem:validation." };
            schema.Properties["title"] = new OpenApiSchema { Type = JsonSchemaType.String };
            schema.Properties["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" };
            schema.Properties["detail"] = new OpenApiSchema { Type = JsonSchemaType.String };
            schema.Properties["instance"] = new OpenApiSchema { Type = JsonSchemaType.String };
            schema.Properties["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Quote it when you report a problem." };
            schema.Properties["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Field path (JSON path without `$.`, or parameter name) to what is wrong with it.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            };
            schema.AdditionalPropertiesAllowed = true;
            schema.AdditionalProperties = null;
        }
        else if (schema.Enum is { Count: > 0 } && schema.Type is null)
        {
            schema.Type = JsonSchemaType.String;
        }
        else if (context.JsonTypeInfo.Type == typeof(DateTimeOffset) || context.JsonTypeInfo.Type == typeof(DateTimeOffset?))
        {
            // UtcTimeConverter hides the type from the schema exporter: say it again.
            schema.Type = context.JsonTypeInfo.Type == typeof(DateTimeOffset) ? JsonSchemaType.String : JsonSchemaType.String | JsonSchemaType.Null;
            schema.Format = "date-time";
        }
        else if (context.JsonTypeInfo.Type is { IsGenericType: true } page && page.GetGenericTypeDefinition() == typeof(Page<>))
        {
            schema.Required ??= new HashSet<string>(StringComparer.Ordinal);
            schema.Required.Add("hasMore");
        }
        else if (context.JsonTypeInfo.Type == typeof(System.Text.Json.JsonElement))
        {
            // Free-form JSON (audit event data): an object of ids, states and counts, never personal data.
            schema.Type = JsonSchemaType.Object;
            schema.Description ??= "A JSON object of ids, states and counts; its members depend on the event's action.";
            schema.AdditionalPropertiesAllowed = true;
        }

        if (ValuesOf(context) is { } values)
        {
            var target = schema.Type is { } type && type.HasFlag(JsonSchemaType.Array) && schema.Items is OpenApiSchema items ? items : schema;
            target.Enum = [.. values.Values.Select(v => (JsonNode)JsonValue.Create(v))];
            if (target.Type is { } t && t.HasFlag(JsonSchemaType.Null))
                target.Enum.Add(null!); // a nullable member: null is one of its values
        }

        return Task.CompletedTask;
    }
}
