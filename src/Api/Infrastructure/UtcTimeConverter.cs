using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Times are written in UTC with <c>Z</c> (<c>2026-01-31T09:00:00.123Z</c>), as webhook bodies write them, whatever the
/// offset of the stored value; any ISO-8601 time with an offset is read.
/// </summary>
public sealed class UtcTimeConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
    }
}
