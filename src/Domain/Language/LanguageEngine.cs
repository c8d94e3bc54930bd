using System.Text.Json.Serialization;

namespace FeedbackHub.Domain.Language;

/// <summary>Which stages check a text. Serialised as <c>"rules"</c> / <c>"full"</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LanguageEngine>))]
public enum LanguageEngine
{
    /// <summary>Rules and sentence model together (<see cref="FullLanguageChecker"/>): the default.</summary>
    [JsonStringEnumMemberName("full")]
    Full,

    /// <summary>The rule catalog only (<see cref="LanguageChecker"/>): fast, no model.</summary>
    [JsonStringEnumMemberName("rules")]
    Rules,
}
