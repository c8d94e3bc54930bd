using System.Text.Json;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// The closed set of values a string member or parameter takes (for arrays: each item), so the OpenAPI document says
/// <c>enum</c> and generated clients get a type. Documentation only: the handlers keep validating and answer 422 with
/// the field's name, which a binding failure on a C# enum could not.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public sealed class ApiValuesAttribute : Attribute
{
    public ApiValuesAttribute(params string[] values) => Values = values;

    /// <summary>
    /// An enum's member names in camelCase (as the API writes them), or a class's public string constants (e.g.
    /// <c>WebhookEventTypes</c>), so the list has one source.
    /// </summary>
    public ApiValuesAttribute(Type source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Source = source;
        Values = source.IsEnum
            ? [.. Enum.GetNames(source).Select(JsonNamingPolicy.CamelCase.ConvertName)]
            : [.. source.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
                .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!)];
    }

    public IReadOnlyList<string> Values { get; }

    public Type? Source { get; }
}
