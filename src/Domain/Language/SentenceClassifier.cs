namespace FeedbackHub.Domain.Language;

/// <summary>A sentence to classify, with the catalog rule categories that matched in it.</summary>
public sealed record SentenceInput(string Text, IReadOnlySet<string> RuleCategories);

/// <summary>The model's view of one sentence: a probability per class (<c>safe</c> and each category).</summary>
public sealed class SentenceScores(IReadOnlyList<string> classes, float[] probabilities, float[]? embedding)
{
    /// <summary>Probability that the sentence is safe (job-related).</summary>
    public double Safe => probabilities[0];

    /// <summary>The embedding (for the nearest-example lookup), if the classifier has one.</summary>
    public float[]? Embedding => embedding;

    /// <summary>Probability of a class; 0 for a class the model does not know.</summary>
    public double this[string label]
    {
        get
        {
            for (var i = 0; i < classes.Count; i++)
            {
                if (classes[i] == label)
                {
                    return probabilities[i];
                }
            }

            return 0;
        }
    }
}

/// <summary>What the decision policy of <see cref="FullLanguageChecker"/> needs from a sentence model.</summary>
public interface ISentenceClassifier
{
    /// <summary>The decision thresholds.</summary>
    SemanticThresholds Thresholds { get; }

    /// <summary>Scores sentences (in order).</summary>
    IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism);

    /// <summary>The nearest labelled training sentence of a label (<c>safe</c> or a category), as an explanation.</summary>
    LabelledExample? Nearest(SentenceScores scores, string label);
}

/// <summary>
/// The shipped sentence model: <see cref="SentenceEmbedder"/> embeddings read by the trained <see cref="SemanticModel"/>.
/// Both load on first use (<see cref="Shared"/>); thread-safe.
/// </summary>
public sealed class SentenceClassifier(SemanticModel model, SentenceEmbedder embedder) : ISentenceClassifier
{
    private static readonly Lazy<SentenceClassifier> SharedInstance =
        new(() => new SentenceClassifier(SemanticModel.Default, SentenceEmbedder.Shared), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The process-wide classifier (shipped model, shared embedder), loaded on first use.</summary>
    public static SentenceClassifier Shared => SharedInstance.Value;

    /// <summary>Whether <see cref="Shared"/> has been loaded.</summary>
    public static bool IsSharedLoaded => SharedInstance.IsValueCreated;

    /// <summary>The trained head.</summary>
    public SemanticModel Model => model;

    /// <summary>The embedder.</summary>
    public SentenceEmbedder Embedder => embedder;

    /// <inheritdoc/>
    public SemanticThresholds Thresholds => model.Thresholds;

    /// <inheritdoc/>
    public IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var vectors = embedder.Embed([.. sentences.Select(s => s.Text)], maxParallelism);
        var categories = model.Classes.Count - 1;
        var scores = new SentenceScores[sentences.Count];
        Span<float> rules = stackalloc float[categories];
        for (var i = 0; i < sentences.Count; i++)
        {
            rules.Clear();
            for (var c = 0; c < categories; c++)
            {
                rules[c] = sentences[i].RuleCategories.Contains(model.Classes[c + 1]) ? 1 : 0;
            }

            scores[i] = new SentenceScores(model.Classes, model.Predict(sentences[i].Text, vectors[i], rules), vectors[i]);
        }

        return scores;
    }

    /// <inheritdoc/>
    public LabelledExample? Nearest(SentenceScores scores, string label)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return scores.Embedding is { } embedding ? model.Nearest(embedding, label) : null;
    }
}
