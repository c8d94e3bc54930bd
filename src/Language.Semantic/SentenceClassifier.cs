using FeedbackHub.Domain.Language;

namespace FeedbackHub.Language.Semantic;

/// <summary>
/// The shipped sentence model: <see cref="SentenceEmbedder"/> embeddings read by the trained <see cref="SemanticModel"/>.
/// <see cref="Shared"/> is cheap to get: the model and the embedder load on its first use. Thread-safe.
/// </summary>
public sealed class SentenceClassifier : ISentenceClassifier
{
    private readonly Lazy<SemanticModel> _model;
    private readonly Lazy<SentenceEmbedder> _embedder;

    /// <summary>A classifier over a loaded model and embedder.</summary>
    public SentenceClassifier(SemanticModel model, SentenceEmbedder embedder)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(embedder);
        _model = new Lazy<SemanticModel>(model);
        _embedder = new Lazy<SentenceEmbedder>(embedder);
    }

    private SentenceClassifier()
    {
        _model = new Lazy<SemanticModel>(() => SemanticModel.Default, LazyThreadSafetyMode.ExecutionAndPublication);
        _embedder = new Lazy<SentenceEmbedder>(() => SentenceEmbedder.Shared, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The process-wide classifier (shipped model, shared embedder), loaded on first use.</summary>
    public static SentenceClassifier Shared { get; } = new();

    /// <summary>Whether the model and the embedder have been loaded.</summary>
    public bool IsLoaded => _model.IsValueCreated && _embedder.IsValueCreated;

    /// <summary>The trained head.</summary>
    public SemanticModel Model => _model.Value;

    /// <summary>The embedder.</summary>
    public SentenceEmbedder Embedder => _embedder.Value;

    /// <inheritdoc/>
    public SemanticThresholds Thresholds => Model.Thresholds;

    /// <inheritdoc/>
    public IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var model = Model;
        var vectors = Embedder.Embed([.. sentences.Select(s => s.Text)], maxParallelism);
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
        return scores.Embedding is { } embedding ? Model.Nearest(embedding, label) : null;
    }
}
