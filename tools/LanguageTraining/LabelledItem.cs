using System.Text.Json;
using System.Text.Json.Serialization;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>One line of a corpus file (same schema as tests/Domain.Tests/Language/corpus.jsonl).</summary>
public sealed record LabelledItem(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("risky")] bool Risky,
    [property: JsonPropertyName("category")] string? Category,
    [property: JsonPropertyName("kind")] string? Kind,
    [property: JsonPropertyName("topic")] string? Topic)
{
    public static List<LabelledItem> Load(string path)
    {
        var items = new List<LabelledItem>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var item = JsonSerializer.Deserialize<LabelledItem>(line)
                ?? throw new InvalidDataException($"{path}:{number}: empty item");
            if (string.IsNullOrWhiteSpace(item.Text) || (item.Risky && item.Category is null))
            {
                throw new InvalidDataException($"{path}:{number}: an item needs text, and a category when risky");
            }

            items.Add(item.Risky ? item : item with { Category = null });
        }

        return items;
    }

    /// <summary>A labelled set named by a folder (its *.jsonl, in name order) or by one file; none when neither exists.</summary>
    public static List<string> Files(string folderOrFile) =>
        Directory.Exists(folderOrFile) ? [.. Directory.GetFiles(folderOrFile, "*.jsonl").OrderBy(Path.GetFileName, StringComparer.Ordinal)]
        : File.Exists(folderOrFile) ? [folderOrFile] : [];

    /// <summary>The training files: every *.jsonl of the training folder plus the hand-written corpus.</summary>
    public static List<string> TrainingFiles(string dataDirectory, string corpus) =>
        [.. Directory.GetFiles(dataDirectory, "*.jsonl").Append(corpus).OrderBy(Path.GetFileName, StringComparer.Ordinal)];
}
