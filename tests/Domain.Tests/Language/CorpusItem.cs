using System.Text.Json;
using System.Text.Json.Serialization;

namespace FeedbackHub.Domain.Tests.Language;

/// <summary>One labeled line of corpus.jsonl.</summary>
public sealed record CorpusItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("risky")] bool Risky,
    [property: JsonPropertyName("category")] string? Category,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("topic")] string? Topic)
{
    public static IReadOnlyList<CorpusItem> Load(string file = "corpus.jsonl")
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Language", file);
        return [.. File.ReadLines(path)
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .Select(line => JsonSerializer.Deserialize<CorpusItem>(line) ?? throw new InvalidDataException(line))];
    }
}
