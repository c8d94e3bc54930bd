using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FeedbackHub.Api.Tests.Fuzz;

/// <summary>
/// JSON Schema 2020-12 validation for the subset the served document uses: $ref into components/schemas, type (incl.
/// type arrays), properties, required, additionalProperties, items, enum, const, oneOf/anyOf/allOf, pattern,
/// min/maxLength, minimum/maximum, min/maxItems and the formats uuid, date-time, int32 and int64.
/// Written here rather than taken from JsonSchema.Net because the schemas live inside an OpenAPI document
/// (<c>#/components/schemas/X</c> is a pointer into a file that is not itself a schema).
/// </summary>
public sealed partial class SchemaValidator(JsonElement document)
{
    public JsonElement Resolve(JsonElement schema)
    {
        var guard = 0;
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference) && guard++ < 32)
        {
            var pointer = reference.GetString()!;
            if (!pointer.StartsWith("#/", StringComparison.Ordinal))
                throw new NotSupportedException("Only local references are supported: " + pointer);
            var target = document;
            foreach (var part in pointer[2..].Split('/'))
                target = target.GetProperty(part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
            schema = target;
        }

        return schema;
    }

    /// <summary>The first few errors as "$.path: what is wrong" (empty when the value matches).</summary>
    public IReadOnlyList<string> Validate(JsonElement schema, JsonNode? value, int maxErrors = 3)
    {
        var errors = new List<string>();
        Check(schema, value, "$", errors, maxErrors);
        return errors;
    }

    public bool IsValid(JsonElement schema, JsonNode? value) => Validate(schema, value, 1).Count == 0;

    private void Check(JsonElement schema, JsonNode? value, string at, List<string> errors, int max)
    {
        if (errors.Count >= max)
            return;
        if (schema.ValueKind == JsonValueKind.True)
            return;
        if (schema.ValueKind == JsonValueKind.False)
        {
            errors.Add($"{at}: no value is allowed here");
            return;
        }

        schema = Resolve(schema);
        var kind = KindOf(value);

        if (schema.TryGetProperty("type", out var type))
        {
            var allowed = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!allowed.Any(t => t == kind || (t == "number" && kind == "integer")))
            {
                errors.Add($"{at}: {kind} where the schema allows {string.Join("|", allowed)}");
                return;
            }
        }

        if (schema.TryGetProperty("enum", out var enumeration)
            && !enumeration.EnumerateArray().Any(e => JsonNode.DeepEquals(JsonNode.Parse(e.GetRawText()), value)))
            errors.Add($"{at}: {Short(value)} is not one of {enumeration.GetRawText()}");
        if (schema.TryGetProperty("const", out var constant) && !JsonNode.DeepEquals(JsonNode.Parse(constant.GetRawText()), value))
            errors.Add($"{at}: {Short(value)} is not {constant.GetRawText()}");

        if (schema.TryGetProperty("allOf", out var allOf))
        {
            foreach (var part in allOf.EnumerateArray())
                Check(part, value, at, errors, max);
        }

        if (schema.TryGetProperty("oneOf", out var oneOf))
        {
            var matching = oneOf.EnumerateArray().Count(part => IsValid(part, value));
            if (matching != 1)
                errors.Add($"{at}: {Short(value)} matches {matching} of the oneOf alternatives (exactly 1 required)");
        }

        if (schema.TryGetProperty("anyOf", out var anyOf) && !anyOf.EnumerateArray().Any(part => IsValid(part, value)))
            errors.Add($"{at}: {Short(value)} matches none of the anyOf alternatives");

        switch (value)
        {
            case JsonObject obj:
                CheckObject(schema, obj, at, errors, max);
                break;
            case JsonArray array:
                if (schema.TryGetProperty("items", out var items))
                {
                    for (var i = 0; i < array.Count; i++)
                        Check(items, array[i], $"{at}[{i}]", errors, max);
                }

                if (schema.TryGetProperty("maxItems", out var maxItems) && array.Count > maxItems.GetInt32())
                    errors.Add($"{at}: {array.Count} items, at most {maxItems.GetInt32()} allowed");
                if (schema.TryGetProperty("minItems", out var minItems) && array.Count < minItems.GetInt32())
                    errors.Add($"{at}: {array.Count} items, at least {minItems.GetInt32()} required");
                break;
            case JsonValue scalar when kind == "string":
                CheckString(schema, scalar.GetValue<string>(), at, errors);
                break;
            case JsonValue scalar when kind is "integer" or "number":
                CheckNumber(schema, double.Parse(scalar.ToJsonString(), CultureInfo.InvariantCulture), at, errors);
                break;
        }
    }

    private void CheckObject(JsonElement schema, JsonObject obj, string at, List<string> errors, int max)
    {
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()!).Where(n => !obj.ContainsKey(n)))
                errors.Add($"{at}: required property '{name}' is missing");
        }

        var properties = schema.TryGetProperty("properties", out var p) ? p : default;
        var additional = schema.TryGetProperty("additionalProperties", out var a) ? a : default;
        foreach (var (name, child) in obj)
        {
            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var propertySchema))
                Check(propertySchema, child, $"{at}.{name}", errors, max);
            else if (additional.ValueKind == JsonValueKind.False)
                errors.Add($"{at}.{name}: property not allowed (additionalProperties: false)");
            else if (additional.ValueKind == JsonValueKind.Object)
                Check(additional, child, $"{at}.{name}", errors, max);
        }
    }

    private static void CheckString(JsonElement schema, string text, string at, List<string> errors)
    {
        if (schema.TryGetProperty("maxLength", out var maxLength) && text.Length > maxLength.GetInt32())
            errors.Add($"{at}: {text.Length} characters, at most {maxLength.GetInt32()} allowed");
        if (schema.TryGetProperty("minLength", out var minLength) && text.Length < minLength.GetInt32())
            errors.Add($"{at}: {text.Length} characters, at least {minLength.GetInt32()} required");
        if (schema.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(text, pattern.GetString()!, RegexOptions.None, TimeSpan.FromSeconds(1)))
            errors.Add($"{at}: {Short(text)} does not match {pattern.GetString()}");
        if (schema.TryGetProperty("format", out var format))
        {
            var ok = format.GetString() switch
            {
                "uuid" => Guid.TryParseExact(text, "D", out _),
                "date-time" => DateTimeRegex().IsMatch(text),
                "int32" => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                "int64" => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                _ => true,
            };
            if (!ok)
                errors.Add($"{at}: {Short(text)} is not a {format.GetString()}");
        }
    }

    private static void CheckNumber(JsonElement schema, double number, string at, List<string> errors)
    {
        if (schema.TryGetProperty("minimum", out var minimum) && number < minimum.GetDouble())
            errors.Add($"{at}: {number} is below the minimum {minimum.GetDouble()}");
        if (schema.TryGetProperty("maximum", out var maximum) && number > maximum.GetDouble())
            errors.Add($"{at}: {number} is above the maximum {maximum.GetDouble()}");
        if (schema.TryGetProperty("format", out var format)
            && ((format.GetString() == "int32" && number is < int.MinValue or > int.MaxValue)
                || (format.GetString() == "int64" && number is < long.MinValue or > long.MaxValue)))
            errors.Add($"{at}: {number} does not fit {format.GetString()}");
    }

    public static string KindOf(JsonNode? value) => value switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Number => IsInteger(v) ? "integer" : "number",
            _ => "null",
        },
        _ => "unknown",
    };

    private static bool IsInteger(JsonValue value)
    {
        var text = value.ToJsonString();
        return !text.Contains('.', StringComparison.Ordinal) && !text.Contains('e', StringComparison.OrdinalIgnoreCase)
            || (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Floor(d) == d && !double.IsInfinity(d));
    }

    private static string Short(JsonNode? value) => Short(value?.ToJsonString() ?? "null");

    private static string Short(string text) => text.Length <= 40 ? text : text[..40] + $"...({text.Length} chars)";

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex DateTimeRegex();
}
