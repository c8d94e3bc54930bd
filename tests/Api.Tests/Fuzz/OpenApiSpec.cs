using System.Text.Json;
using System.Text.Json.Nodes;

namespace FeedbackHub.Api.Tests.Fuzz;

/// <summary>The served OpenAPI 3.1 document, read as data: operations, their parameters, bodies and responses.</summary>
public sealed class OpenApiSpec
{
    private OpenApiSpec(JsonElement root, IReadOnlyList<FuzzOperation> operations, IReadOnlyList<string> webhookEvents)
    {
        Root = root;
        Operations = operations;
        WebhookEvents = webhookEvents;
        Schemas = new SchemaValidator(root);
    }

    public JsonElement Root { get; }

    public IReadOnlyList<FuzzOperation> Operations { get; }

    /// <summary>The event names of the document's <c>webhooks</c> section (valid values for subscriptions).</summary>
    public IReadOnlyList<string> WebhookEvents { get; }

    public SchemaValidator Schemas { get; }

    public static OpenApiSpec Parse(string json)
    {
        var root = JsonDocument.Parse(json).RootElement.Clone();
        var operations = new List<FuzzOperation>();
        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var op in path.Value.EnumerateObject())
            {
                var parameters = op.Value.TryGetProperty("parameters", out var ps)
                    ? ps.EnumerateArray().Select(p => new FuzzParameter(
                        p.GetProperty("name").GetString()!,
                        p.GetProperty("in").GetString()!,
                        p.TryGetProperty("required", out var r) && r.GetBoolean(),
                        p.TryGetProperty("schema", out var s) ? s : default)).ToList()
                    : [];
                JsonElement? bodySchema = null;
                JsonNode? example = null;
                var bodyRequired = false;
                if (op.Value.TryGetProperty("requestBody", out var body))
                {
                    bodyRequired = body.TryGetProperty("required", out var br) && br.GetBoolean();
                    if (body.GetProperty("content").TryGetProperty("application/json", out var media))
                    {
                        bodySchema = media.GetProperty("schema");
                        if (media.TryGetProperty("example", out var ex))
                            example = JsonNode.Parse(ex.GetRawText());
                    }
                }

                var responses = new Dictionary<string, IReadOnlyDictionary<string, JsonElement?>>();
                foreach (var response in op.Value.GetProperty("responses").EnumerateObject())
                {
                    var contents = new Dictionary<string, JsonElement?>(StringComparer.OrdinalIgnoreCase);
                    if (response.Value.TryGetProperty("content", out var content))
                    {
                        foreach (var media in content.EnumerateObject())
                            contents[media.Name] = media.Value.TryGetProperty("schema", out var schema) ? schema : null;
                    }

                    responses[response.Name] = contents;
                }

                operations.Add(new FuzzOperation(
                    op.Name.ToUpperInvariant(), path.Name, op.Value.GetProperty("operationId").GetString()!,
                    parameters, bodySchema, example, bodyRequired, responses,
                    op.Value.TryGetProperty("security", out var security) && security.GetArrayLength() > 0)); // "security: []" = no key
            }
        }

        var events = root.TryGetProperty("webhooks", out var hooks) ? hooks.EnumerateObject().Select(h => h.Name).ToList() : [];
        return new OpenApiSpec(root, operations, events);
    }

    /// <summary>The documented operation a method and concrete path belong to, if any.</summary>
    public FuzzOperation? Match(string method, string path)
    {
        var segments = path.Split('?')[0].Split('/');
        return Operations.FirstOrDefault(o => o.Method == method && Matches(o.Path.Split('/'), segments));

        static bool Matches(string[] template, string[] actual) =>
            template.Length == actual.Length
            && template.Zip(actual).All(p => p.First.StartsWith('{') ? p.Second.Length > 0 : p.First == p.Second);
    }
}

public sealed record FuzzParameter(string Name, string In, bool Required, JsonElement Schema);

public sealed record FuzzOperation(
    string Method,
    string Path,
    string OperationId,
    IReadOnlyList<FuzzParameter> Parameters,
    JsonElement? BodySchema,
    JsonNode? BodyExample,
    bool BodyRequired,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, JsonElement?>> Responses,
    bool NeedsKey)
{
    public bool Writes => Method is not ("GET" or "HEAD");

    /// <summary>The documented response for a status: the exact code, then <c>4XX</c>-style ranges, then <c>default</c>.</summary>
    public IReadOnlyDictionary<string, JsonElement?>? ResponseFor(int status) =>
        Responses.TryGetValue(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var exact) ? exact
        : Responses.TryGetValue($"{status / 100}XX", out var range) ? range
        : Responses.TryGetValue("default", out var fallback) ? fallback
        : null;

    public override string ToString() => $"{Method} {Path}";
}
