using System.Text.Json.Serialization;

namespace FeedbackHub.Domain.Language;

/// <summary>How serious a finding is. Serialised as <c>"warn"</c> / <c>"block"</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Severity>))]
public enum Severity
{
    /// <summary>Risky wording a reviewer should look at; the feedback may still be sent after review.</summary>
    [JsonStringEnumMemberName("warn")]
    Warn,

    /// <summary>Wording that must be rewritten before the feedback can be sent.</summary>
    [JsonStringEnumMemberName("block")]
    Block,
}
