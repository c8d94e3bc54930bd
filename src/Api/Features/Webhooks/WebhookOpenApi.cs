using System.Text.Json.Nodes;
using FeedbackHub.Domain.Webhooks;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace FeedbackHub.Api.Features.Webhooks;

/// <summary>
/// Describes what FeedbackHub sends to subscribers, in the document's <c>webhooks</c> section (OpenAPI 3.1): one POST per
/// event type with its headers, payload schema and an example, plus the signature scheme in the document's description,
/// so an integrator can build a receiver from the OpenAPI document alone (docs/webhooks.md has the long form).
/// </summary>
internal sealed class WebhookOpenApi : IOpenApiDocumentTransformer
{
    public const string Overview = """


        ## Webhooks
        Subscribe with `POST /v1/webhooks` (role `admin`); the `webhooks` section of this document shows each event's POST.
        Every request carries `FeedbackHub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`: the HMAC key is the
        subscription's secret (the whole `whsec_...` string, UTF-8), the signed text is `t + "." + raw body` (UTF-8). A receiver
        recomputes it over the raw body as received, compares in constant time, and refuses a `t` more than 5 minutes away.
        Worked example: secret `whsec_S2V5Rm9yRG9jdW1lbnRhdGlvbk9ubHlOb3RSZWFsMDA`, t `1767225600` and the body
        `{"id":"019b7a3c-2e00-7000-8000-000000000001","type":"delivery.sent","occurredAt":"2026-01-01T00:00:00Z","data":{"applicationId":"019b7a3c-2e00-7000-8000-0000000000a1","applicationExternalId":"ats-app-1042","candidateId":"019b7a3c-2e00-7000-8000-0000000000c1","candidateExternalId":"ats-cand-77","requestId":"019b7a3c-2e00-7000-8000-0000000000b1","feedbackId":"019b7a3c-2e00-7000-8000-0000000000f1","deliveryId":"019b7a3c-2e00-7000-8000-0000000000d1","status":"sent"}}`
        (one line, exactly these bytes) give `FeedbackHub-Signature: t=1767225600,v1=bd9e74a92dec41fb9452f6cf154efad7a5c1983375aee660bead4159fa1288fe`.
        After `rotate-secret` the header carries one `v1=` per secret (new first, then the replaced one while the overlap
        lasts): accept the request when any of them matches. `POST /v1/webhooks/{id}/ping` sends a signed `webhook.ping`
        now and reports the receiver's answer. Every body is one of the `WebhookEvent` schemas, told apart by `type`.
        Answer 2xx within 10 s; anything else (also a redirect, which is not followed) is retried after 30 s, doubling, at
        most 1 h, 8 attempts. Delivery is at least once: deduplicate on `FeedbackHub-Event-Id` (also `id` in the body),
        which never changes for one event. Bodies carry ids only, never personal data. Target URLs must be https and resolve
        to public addresses only (checked when subscribing and at every send).
        """;

    /// <summary>The shared envelope: one of the event schemas, told apart by <c>type</c>.</summary>
    public const string EnvelopeSchema = "WebhookEvent";

    private static readonly Dictionary<string, (string Summary, string When, JsonObject Extra, string[] Members)> Events = new()
    {
        [WebhookEventTypes.FeedbackRequested] = ("The candidate asked for feedback",
            "Raised when the candidate asks for feedback through their personal link (once per application).",
            new JsonObject { ["requestId"] = "019b7a3c-2e00-7000-8000-0000000000b1" }, ["requestId"]),
        [WebhookEventTypes.FeedbackApproved] = ("Feedback was approved",
            "Raised when the feedback of an application is approved, by a reviewer or automatically.",
            new JsonObject { ["feedbackId"] = "019b7a3c-2e00-7000-8000-0000000000f1" }, ["feedbackId"]),
        [WebhookEventTypes.DeliverySent] = ("The feedback email was sent",
            "Raised when the mail server accepted the feedback email.",
            DeliveryData("sent"), ["deliveryId", "requestId", "feedbackId", "status"]),
        [WebhookEventTypes.DeliveryFailed] = ("The feedback email will not be sent",
            "Raised when a delivery fails: `reason` is `permanent-failure`, `retries-exhausted`, `interrupted` or `failed`. A recruiter may retry it, which can later raise `delivery.sent`.",
            DeliveryData("failed", "permanent-failure"), ["deliveryId", "requestId", "feedbackId", "status"]),
        [WebhookEventTypes.DeliveryCancelled] = ("A scheduled delivery was cancelled",
            "Raised when a scheduled delivery is cancelled (by a recruiter, the application was reopened, or the candidate was erased).",
            DeliveryData("cancelled"), ["deliveryId", "requestId", "feedbackId", "status"]),
        [WebhookEventTypes.Ping] = ("A test event",
            "Sent only when an admin calls `POST /v1/webhooks/{id}/ping`, whatever the subscription's events; once, never retried. `data` names the subscription. Answer it like any event.",
            new JsonObject(), []),
    };

    /// <summary>The component name of an event type's schema: <c>delivery.sent</c> is <c>DeliverySentEvent</c>, <c>webhook.ping</c> <c>WebhookPingEvent</c>.</summary>
    public static string SchemaName(string type) =>
        string.Concat(type.Split('.').Select(p => char.ToUpperInvariant(p[0]) + p[1..])) + "Event";

    /// <summary>The security scheme a receiver checks: the signature header.</summary>
    public const string SignatureScheme = "WebhookSignature";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (document.Info is not null)
            document.Info.Description += Overview;
        document.Webhooks ??= new Dictionary<string, IOpenApiPathItem>();
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SignatureScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "FeedbackHub-Signature",
            Description = "How a webhook receiver knows the request comes from FeedbackHub: an HMAC-SHA256 of \"t.body\" with the subscription's secret (see the document's description).",
        };
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        foreach (var (type, e) in Events)
        {
            document.Components.Schemas[SchemaName(type) + "Data"] = DataSchema(type, e.Members);
            document.Components.Schemas[SchemaName(type)] = EventSchema(type, document);
        }

        document.Components.Schemas[EnvelopeSchema] = new OpenApiSchema
        {
            Description = "Any webhook body: the envelope (`id`, `type`, `occurredAt`, `data`) with `type` naming the event and the shape of `data`. Members may be added; ignore the ones you do not know.",
            OneOf = [.. Events.Keys.Select(t => (IOpenApiSchema)new OpenApiSchemaReference(SchemaName(t), document))],
            Discriminator = new OpenApiDiscriminator
            {
                PropertyName = "type",
                Mapping = Events.Keys.ToDictionary(t => t, t => new OpenApiSchemaReference(SchemaName(t), document)),
            },
        };

        foreach (var (type, e) in Events)
        {
            var operation = new OpenApiOperation
            {
                OperationId = "Webhook" + string.Concat(type.Split('.').Select(p => char.ToUpperInvariant(p[0]) + p[1..])),
                Summary = e.Summary,
                Description = e.When + (type == WebhookEventTypes.Ping ? string.Empty : " Sent to every enabled subscription to `" + type + "`.") + " Verify `FeedbackHub-Signature` before trusting the body; deduplicate on `FeedbackHub-Event-Id`.",
                Tags = new HashSet<OpenApiTagReference> { new("Webhooks", document) },
                Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SignatureScheme, document)] = [] }],
                Parameters =
                [
                    Header("FeedbackHub-Signature", "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">` with the subscription's secret (during a rotation's overlap a second `v1=` with the replaced secret)."),
                    Header("FeedbackHub-Event-Id", "The event id (UUID); the same on every attempt and redelivery of this event."),
                    Header("FeedbackHub-Event-Type", "`" + type + "`."),
                    .. (type == WebhookEventTypes.Ping ? Array.Empty<OpenApiParameter>() :
                        new[] { Header("FeedbackHub-Delivery-Id", "This subscription's delivery of the event (see GET /v1/webhooks/{id}/deliveries/{deliveryId}).") }),
                    Header("FeedbackHub-Attempt", "1 on the first attempt, then 2, 3, ..."),
                ],
                RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Schema = new OpenApiSchemaReference(SchemaName(type), document), Example = Example(type, e.Extra) },
                    },
                },
                Responses = new OpenApiResponses
                {
                    ["2XX"] = new OpenApiResponse { Description = "Acknowledged (answer within 10 s; do the work afterwards)." },
                    ["default"] = new OpenApiResponse { Description = "Any other answer, a redirect, or no answer within 10 s: retried with growing backoff." },
                },
            };
            document.Webhooks[type] = new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Post] = operation } };
        }

        return Task.CompletedTask;
    }

    private static OpenApiParameter Header(string name, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Header,
        Required = true,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
    };

    private static OpenApiSchema DataSchema(string type, string[] members)
    {
        static OpenApiSchema Id(string description) => new() { Type = JsonSchemaType.String, Format = "uuid", Description = description };
        static OpenApiSchema Text(string description) => new() { Type = JsonSchemaType.String, Description = description };
        if (type == WebhookEventTypes.Ping)
        {
            return new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "The subscription that was pinged.",
                Required = new HashSet<string> { "subscriptionId" },
                Properties = new Dictionary<string, IOpenApiSchema> { ["subscriptionId"] = Id("The webhook subscription's id.") },
            };
        }

        var data = new Dictionary<string, IOpenApiSchema>
        {
            ["applicationId"] = Id("FeedbackHub's application id."),
            ["applicationExternalId"] = Text("The ATS's application id."),
            ["candidateId"] = Id("FeedbackHub's candidate id."),
            ["candidateExternalId"] = Text("The ATS's candidate id."),
        };
        foreach (var m in members)
        {
            data[m] = m switch
            {
                "status" => new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Description = "The delivery's status.",
                    Enum = [JsonValue.Create(type[(type.IndexOf('.', StringComparison.Ordinal) + 1)..])],
                },
                _ => Id(m[..^2] + " id."),
            };
        }

        if (type == WebhookEventTypes.DeliveryFailed)
        {
            data["reason"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "Why the email will not be sent.",
                Enum = [JsonValue.Create("permanent-failure"), JsonValue.Create("retries-exhausted"), JsonValue.Create("interrupted"), JsonValue.Create("failed")],
            };
        }

        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "Ids only, never personal data. Members without a value are left out; new members may be added.",
            Required = new HashSet<string> { "applicationId" },
            Properties = data,
        };
    }

    private static OpenApiSchema EventSchema(string type, OpenApiDocument document) => new()
    {
        Type = JsonSchemaType.Object,
        Description = Events[type].Summary + ".",
        Required = new HashSet<string> { "id", "type", "occurredAt", "data" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["id"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid", Description = "The event id: stable across retries and redeliveries; deduplicate on it." },
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create(type)] },
            ["occurredAt"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time", Description = "When the change happened (UTC, with Z)." },
            ["data"] = new OpenApiSchemaReference(SchemaName(type) + "Data", document),
        },
    };

    private static JsonObject Example(string type, JsonObject extra)
    {
        var data = type == WebhookEventTypes.Ping ? new JsonObject { ["subscriptionId"] = "019b7a3c-2e00-7000-8000-0000000000e1" } : new JsonObject
        {
            ["applicationId"] = "019b7a3c-2e00-7000-8000-0000000000a1",
            ["applicationExternalId"] = "ats-app-1042",
            ["candidateId"] = "019b7a3c-2e00-7000-8000-0000000000c1",
            ["candidateExternalId"] = "ats-cand-77",
        };
        foreach (var (key, value) in extra)
            data[key] = value?.DeepClone();
        return new JsonObject
        {
            ["id"] = "019b7a3c-2e00-7000-8000-000000000001",
            ["type"] = type,
            ["occurredAt"] = "2026-01-01T00:00:00Z",
            ["data"] = data,
        };
    }

    private static JsonObject DeliveryData(string status, string? reason = null)
    {
        var data = new JsonObject
        {
            ["requestId"] = "019b7a3c-2e00-7000-8000-0000000000b1",
            ["feedbackId"] = "019b7a3c-2e00-7000-8000-0000000000f1",
            ["deliveryId"] = "019b7a3c-2e00-7000-8000-0000000000d1",
            ["status"] = status,
        };
        if (reason is not null)
            data["reason"] = reason;
        return data;
    }
}
