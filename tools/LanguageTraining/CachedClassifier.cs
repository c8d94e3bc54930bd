using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>
/// A classifier for cross-validation: the scores of one fold's network from precomputed embeddings, with thresholds
/// that the search changes between runs. Explanations are left out (not scored).
/// </summary>
public sealed class CachedClassifier(SemanticModel model, IReadOnlyDictionary<string, float[]> embeddings) : ISentenceClassifier
{
    private readonly Dictionary<(string, string), (float[] Network, float[] Vote)> _memo = [];

    public SemanticThresholds Thresholds { get; set; } = model.Thresholds;

    /// <summary>Weight of the nearest-examples vote (the search tries several).</summary>
    public double NeighbourWeight { get; set; }

    public IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism)
    {
        var result = new SentenceScores[sentences.Count];
        var categories = model.Classes.Count - 1;
        for (var i = 0; i < sentences.Count; i++)
        {
            var input = sentences[i];
            var key = (input.Text, string.Join(",", input.RuleCategories.Order(StringComparer.Ordinal)));
            if (!_memo.TryGetValue(key, out var parts))
            {
                var rules = new float[categories];
                for (var c = 0; c < categories; c++)
                {
                    rules[c] = input.RuleCategories.Contains(model.Classes[c + 1]) ? 1 : 0;
                }

                var embedding = embeddings.TryGetValue(input.Text, out var e) ? e
                    : model.Document.Embedding == SentenceEmbedder.ModelName ? SentenceEmbedder.Shared.Embed([input.Text])[0]
                    : throw new InvalidOperationException($"no precomputed {model.Document.Embedding} embedding for a sentence");
                parts = (model.PredictNetwork(input.Text, embedding, rules), model.NeighbourVote(embedding));
                _memo[key] = parts;
            }

            result[i] = new SentenceScores(model.Classes, NeighbourWeight > 0 ? SemanticModel.Blend(parts.Network, parts.Vote, NeighbourWeight) : parts.Network, null);
        }

        return result;
    }

    public LabelledExample? Nearest(SentenceScores scores, string label) => null;
}
