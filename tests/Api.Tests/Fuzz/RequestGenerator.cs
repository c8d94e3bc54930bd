using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FeedbackHub.Api.Tests.Fuzz;

/// <summary>
/// One generated request: what it targets, as whom, and what was changed from a valid one. <paramref name="BodyError"/>:
/// why the document calls the body invalid (null when it is valid, or there is none).
/// </summary>
public sealed record FuzzRequest(
    FuzzOperation Operation,
    FuzzWorld World,
    string Role,
    string Url,
    string? Body,
    IReadOnlyList<(string Name, string Value)> Headers,
    string Mutation,
    string? BodyError);

/// <summary>
/// Builds requests from the document: a valid one per operation and role first, then one change at a time (body field,
/// query parameter, path parameter or header). All randomness comes from one seeded <see cref="Random"/>.
/// </summary>
public sealed class RequestGenerator(OpenApiSpec spec, Random random)
{
    public static readonly string[] Roles = ["admin", "recruiter", "interviewer", "legal", "integration", "no key", "unknown key"];

    /// <summary>The header change that asks for another response format (reports keep its answers apart).</summary>
    public const string AcceptXml = "Accept: application/xml";

    /// <summary>The header changes (labels as they appear in reports).</summary>
    public static readonly string[] HeaderMutations =
        ["Idempotency-Key of 300 chars", "If-Match list", "If-Match garbage", AcceptXml, "blank Idempotency-Key"];

    private const int HugeString = 100_000;

    // No NUL (Kestrel refuses it before the app) and no dot segments (the client resolves them): raw cases send those.
    private static readonly string[] GarbageIds =
    [
        "not-a-uuid", "00000000-0000-0000-0000-000000000000", "0", "-1", "99999999999999999999", "null", "{id}", "%",
        "é", "\u202Eevil", "a\u0007b", "a\r\nb", " ", new string('a', 2000), "6f1c3d9e-6b4e-4f4e-9d3a-ZZZZZZZZZZZZ",
    ];

    private static readonly string[] BadQueryValues =
        ["", "0", "-1", "101", "abc", "99999999999", "1.5", "%%%", "bm90LWEtbnVtYmVy", "\u0000", "\u202E", "null", "true", "2026-13-45"];

    /// <summary>Every operation with every role, valid requests against the storm tenant's own resources.</summary>
    public IEnumerable<FuzzRequest> ValidRound(FuzzWorld storm) =>
        from operation in spec.Operations
        from role in Roles
        select Build(operation, storm, role, change: null);

    /// <summary>A random operation, role and single change; writes to the kept tenant only with schema-invalid bodies.</summary>
    public FuzzRequest Mutated(FuzzWorld storm, FuzzWorld kept)
    {
        while (true)
        {
            var operation = spec.Operations[random.Next(spec.Operations.Count)];
            var role = Roles[random.Next(Roles.Length)];
            var useKept = random.NextDouble() < 0.25;
            var world = useKept ? kept : storm;
            var request = Build(operation, world, role, change: PickChange(operation));
            // What is stored in the kept tenant may only be read, or written with bodies the document calls invalid
            // (those must change nothing): the "nothing stored is lost" test reads it back afterwards.
            if (useKept && operation.Writes && (operation.BodySchema is null || request.BodyError is null))
                continue;
            return request;
        }
    }

    private string PickChange(FuzzOperation operation)
    {
        var options = new List<string>();
        if (operation.BodySchema is not null)
            options.AddRange(["body", "body", "body", "body", "raw-body"]);
        if (operation.Parameters.Any(p => p.In == "query"))
            options.AddRange(["query", "query"]);
        if (operation.Parameters.Any(p => p.In == "path"))
            options.AddRange(["path", "path"]);
        options.Add("header");
        return options[random.Next(options.Count)];
    }

    private FuzzRequest Build(FuzzOperation operation, FuzzWorld world, string role, string? change)
    {
        var mutation = "valid";
        var headers = new List<(string, string)>();

        var pathValues = new Dictionary<string, string>();
        var pathParameters = operation.Parameters.Where(p => p.In == "path").ToList();
        var mutatedPath = change == "path" ? pathParameters[random.Next(pathParameters.Count)] : null;
        foreach (var parameter in pathParameters)
        {
            if (parameter == mutatedPath)
            {
                var (value, label) = BadPathValue(operation, parameter, world);
                pathValues[parameter.Name] = value;
                mutation = $"path {parameter.Name}={label}";
            }
            else
            {
                pathValues[parameter.Name] = world.PathValue(operation, parameter, random);
            }
        }

        var url = operation.Path;
        foreach (var (name, value) in pathValues)
            url = url.Replace("{" + name + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);

        var query = new List<string>();
        var queryParameters = operation.Parameters.Where(p => p.In == "query").ToList();
        var mutatedQuery = change == "query" ? queryParameters[random.Next(queryParameters.Count)] : null;
        foreach (var parameter in queryParameters)
        {
            if (parameter == mutatedQuery)
            {
                var bad = random.Next(6) == 0 ? new string('z', 3000) : BadQueryValues[random.Next(BadQueryValues.Length)];
                query.Add($"{parameter.Name}={Uri.EscapeDataString(bad)}");
                if (random.Next(4) == 0)
                    query.Add($"{parameter.Name}={Uri.EscapeDataString(bad)}x"); // the parameter twice
                mutation = $"query {parameter.Name}={Label(bad)}";
            }
            else if (parameter.Required || random.Next(2) == 0)
            {
                if (world.QueryValue(operation, parameter, random) is { } value)
                    query.Add($"{parameter.Name}={Uri.EscapeDataString(value)}");
            }
        }

        if (query.Count > 0)
            url += "?" + string.Join("&", query);

        foreach (var parameter in operation.Parameters.Where(p => p.In == "header"))
        {
            if (random.Next(2) == 0)
                headers.Add((parameter.Name, Guid.NewGuid().ToString()));
        }

        if (change == "header")
        {
            var pick = random.Next(HeaderMutations.Length);
            var label = HeaderMutations[pick];
            var (name, value) = pick switch
            {
                0 => ("Idempotency-Key", new string('k', 300)),
                1 => ("If-Match", "\"a\", \"b\", W/\"c\", *"),
                2 => ("If-Match", "\"garbage\""),
                3 => ("Accept", "application/xml"),
                _ => ("Idempotency-Key", " "),
            };
            headers.RemoveAll(h => h.Item1 == name);
            headers.Add((name, value));
            mutation = label;
        }

        string? body = null;
        string? bodyError = null;
        if (operation.BodySchema is { } schema)
        {
            var node = ExampleFor(operation) is { } example && random.Next(3) > 0
                ? example.DeepClone()
                : Valid(schema, world, "", 0);
            if (node is not null)
                FuzzWorld.FixBody(node);
            if (change == "body")
                (node, mutation) = MutateBody(node);
            if (change == "raw-body")
            {
                (body, mutation) = random.Next(6) switch
                {
                    0 => ("", "empty body"),
                    1 => ("[]", "array body"),
                    2 => ("null", "JSON null body"),
                    3 => ("{\"a\":", "truncated JSON"),
                    4 => (new string('[', 5000) + new string(']', 5000), "5000 nested arrays"),
                    _ => ("\"text\"", "string body"),
                };
            }
            else
            {
                body = node?.ToJsonString() ?? "null";
            }

            if (body.Length > 0 || operation.BodyRequired) // an optional body may be left out
            {
                var (parsed, ok) = TryParse(body);
                bodyError = ok ? spec.Schemas.Validate(schema, parsed, 1) is [var first, ..] ? first : null : "not JSON";
            }
        }

        return new FuzzRequest(operation, world, role, url, body, headers, mutation, bodyError);
    }

    /// <summary>The operation's request example, or that of another operation with the same body schema ($ref).</summary>
    private JsonNode? ExampleFor(FuzzOperation operation)
    {
        if (operation.BodyExample is not null)
            return operation.BodyExample;
        var schema = operation.BodySchema?.GetRawText();
        return spec.Operations.FirstOrDefault(o => o.BodyExample is not null && o.BodySchema?.GetRawText() == schema)?.BodyExample;
    }

    private static (JsonNode? Node, bool Ok) TryParse(string? body)
    {
        try
        {
            return (JsonNode.Parse(body ?? "", documentOptions: new JsonDocumentOptions { MaxDepth = 256 }), true);
        }
        catch (JsonException)
        {
            return (null, false);
        }
    }

    /// <summary>A value valid for the schema; property names steer strings towards meaningful values.</summary>
    public JsonNode? Valid(JsonElement schema, FuzzWorld? world, string name, int depth)
    {
        schema = spec.Schemas.Resolve(schema);
        if (schema.TryGetProperty("enum", out var enumeration))
        {
            var values = enumeration.EnumerateArray().ToList();
            return JsonNode.Parse(values[random.Next(values.Count)].GetRawText());
        }

        if (schema.TryGetProperty("oneOf", out var oneOf) || schema.TryGetProperty("anyOf", out oneOf))
        {
            var alternatives = oneOf.EnumerateArray().Where(a => !IsNullOnly(a)).ToList();
            return alternatives.Count == 0 ? null : Valid(alternatives[random.Next(alternatives.Count)], world, name, depth);
        }

        var types = schema.TryGetProperty("type", out var type)
            ? type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!]
            : schema.TryGetProperty("properties", out _) ? ["object"] : ["string"];
        var nonNull = types.Where(t => t != "null").ToList();
        if (nonNull.Count == 0 || (types.Contains("null") && random.Next(4) == 0))
            return null;
        // ["integer", "string"] with a pattern is an integer that may also be sent as a string: send the integer.
        var chosen = nonNull.Contains("integer") ? "integer" : nonNull[random.Next(nonNull.Count)];

        switch (chosen)
        {
            case "object":
                var obj = new JsonObject();
                var required = schema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(x => x.GetString()!).ToHashSet() : [];
                if (schema.TryGetProperty("properties", out var properties) && depth < 6)
                {
                    foreach (var property in properties.EnumerateObject())
                    {
                        if (required.Contains(property.Name) || random.Next(2) == 0)
                            obj[property.Name] = Valid(property.Value, world, property.Name, depth + 1);
                    }
                }

                return obj;
            case "array":
                var array = new JsonArray();
                if (schema.TryGetProperty("items", out var items) && depth < 6)
                {
                    var count = 1 + random.Next(3);
                    for (var i = 0; i < count; i++)
                        array.Add(Valid(items, world, Singular(name), depth + 1));
                }

                return array;
            case "integer":
            case "number":
                var min = schema.TryGetProperty("minimum", out var mn) ? (int)Math.Max(mn.GetDouble(), -1000) : 1;
                var max = schema.TryGetProperty("maximum", out var mx) ? (int)Math.Min(mx.GetDouble(), 1000) : 50;
                return JsonValue.Create(random.Next(min, Math.Max(min, max) + 1));
            case "boolean":
                return JsonValue.Create(random.Next(2) == 0);
            default:
                var format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
                return JsonValue.Create(world?.StringFor(name, format, random, spec.WebhookEvents) ?? format switch
                {
                    "uuid" => Guid.NewGuid().ToString(),
                    "date-time" => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                    _ => "fuzz",
                });
        }
    }

    private static bool IsNullOnly(JsonElement schema) =>
        schema.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null";

    private static string Singular(string name) => name.EndsWith('s') ? name[..^1] : name;

    /// <summary>Changes one place of a valid body: a field, an item, or the object around them.</summary>
    private (JsonNode? Node, string Label) MutateBody(JsonNode? root)
    {
        var slots = new List<(JsonNode? Parent, string? Key, int Index, string Path)>();
        Collect(root, null, null, -1, "$", slots);
        var (parent, key, index, path) = slots[random.Next(slots.Count)];
        var current = parent switch
        {
            JsonObject o => o[key!],
            JsonArray a => a[index],
            _ => root,
        };

        var (replacement, label) = Mutate(current);
        if (label == "missing")
        {
            if (parent is JsonObject owner)
            {
                owner.Remove(key!);
                return (root, $"body {GeneralPath(path)}: missing");
            }

            (replacement, label) = (null, "null");
        }

        switch (parent)
        {
            case JsonObject o:
                o[key!] = replacement;
                break;
            case JsonArray a:
                a[index] = replacement;
                break;
            default:
                root = replacement;
                break;
        }

        return (root, $"body {GeneralPath(path)}: {label}");
    }

    private static string GeneralPath(string path) => System.Text.RegularExpressions.Regex.Replace(path, @"\[\d+\]", "[i]");

    private static void Collect(JsonNode? node, JsonNode? parent, string? key, int index, string path, List<(JsonNode?, string?, int, string)> slots)
    {
        slots.Add((parent, key, index, path));
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                    Collect(child, o, name, -1, $"{path}.{name}", slots);
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                    Collect(a[i], a, null, i, $"{path}[{i}]", slots);
                break;
        }
    }

    private (JsonNode? Value, string Label) Mutate(JsonNode? current)
    {
        var kind = SchemaValidator.KindOf(current);
        var options = new List<Func<(JsonNode?, string)>>
        {
            () => (null, "null"),
            () => (WrongType(kind), "wrong type"),
            () => (null, "missing"),
            () => (JsonValue.Create(""), "empty string"),
            () => (JsonValue.Create("a\u0000b\u0007c\r\nd"), "control characters"),
            () => (JsonValue.Create("\u202Eevil\u2066x\u2069\u200Bz"), "bidi/invisible characters"),
            () => (JsonValue.Create(new string('x', HugeString)), "huge string (100 KB)"),
            () => (JsonValue.Create(new string('é', HugeString / 2)), "huge non-ASCII string (50 K chars)"),
            () => (NumberEdge(), "edge number"),
        };
        if (current is JsonArray array)
        {
            options.Add(() => (new JsonArray(Enumerable.Range(0, 5000).Select(_ => array.Count > 0 ? array[0]?.DeepClone() : JsonValue.Create("x")).ToArray()), "huge array (5000 items)"));
            options.Add(() => (new JsonArray(null, null), "array of nulls"));
        }

        if (current is JsonObject obj)
        {
            options.Add(() =>
            {
                var copy = obj.DeepClone().AsObject();
                copy["fuzzUnknown"] = 1;
                return (copy, "unknown property");
            });
            options.Add(() => (new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)null))), "every property null"));
        }

        return options[random.Next(options.Count)]();
    }

    private JsonNode WrongType(string kind) => kind switch
    {
        "string" => random.Next(2) == 0 ? JsonValue.Create(12345) : new JsonObject { ["a"] = 1 },
        "integer" or "number" => JsonValue.Create("12abc"),
        "boolean" => JsonValue.Create("yes"),
        "object" => JsonValue.Create("text"),
        "array" => new JsonObject { ["0"] = "x" },
        _ => new JsonArray(1, 2),
    };

    private JsonNode NumberEdge() => random.Next(6) switch
    {
        0 => JsonValue.Create(-1),
        1 => JsonValue.Create(0),
        2 => JsonValue.Create(2147483648L),
        3 => JsonValue.Create(-2147483649L),
        4 => JsonNode.Parse("1e308")!,
        _ => JsonValue.Create(1.5),
    };

    private (string Value, string Label) BadPathValue(FuzzOperation operation, FuzzParameter parameter, FuzzWorld world)
    {
        var pick = random.Next(10);
        if (pick < 3)
            return (Guid.NewGuid().ToString(), "random uuid");
        // A public operation's token is the credential whatever the tenant: another tenant's is not a foreign id there.
        if (pick < 5 && world.Other is { } other && operation.NeedsKey)
            return (other.PathValue(operation, parameter, random), "another tenant's id");
        if (parameter.Name == "version")
        {
            var versions = new[] { "0", "-1", "2147483648", "abc", "1.0", "999" };
            var v = versions[random.Next(versions.Length)];
            return (v, v);
        }

        var garbage = GarbageIds[random.Next(GarbageIds.Length)];
        return (garbage, Label(garbage));
    }

    private static string Label(string value)
    {
        var shown = string.Concat(value.Take(24).Select(c => char.IsControl(c) || c is '\u202E' or '\u2066' or '\u200B'
            ? $"\\u{(int)c:X4}"
            : c.ToString()));
        return value.Length > 24 ? $"{shown}...({value.Length.ToString(CultureInfo.InvariantCulture)} chars)" : $"\"{shown}\"";
    }
}
