using System.Text.Json;
using FeedbackHub.Domain;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>Enum query parameters in the API's camelCase spelling (<c>status=changesRequested</c>), case-insensitive.</summary>
public static class QueryValues
{
    public static T? Enum<T>(string? value, string parameter)
        where T : struct, System.Enum
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (System.Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && System.Enum.IsDefined(parsed) && !int.TryParse(value, out _))
            return parsed;
        throw new DomainException(DomainErrorKind.Invalid, "validation", $"'{value}' is not a valid {parameter}.")
        {
            Errors = new Dictionary<string, string[]>
            {
                [parameter] = [$"Use one of: {string.Join(", ", System.Enum.GetNames<T>().Select(JsonNamingPolicy.CamelCase.ConvertName))}."],
            },
        };
    }
}
