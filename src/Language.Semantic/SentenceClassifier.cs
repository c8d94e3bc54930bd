using FeedbackHub.Domain.Language;

namespace FeedbackHub.Language.Semantic;

/// <summary>
/// The shipped sentence model: <see cref="SentenceEmbedder"/> embeddings read by the trained <see cref="SemanticModel"/>.
/// <see cref="Shared"/> is cheap to get: the model and the embedder load on its first use. Thread-safe. A sentence's
/// scores depend only on its text and the rule categories that matched in it, so they are cached (bounded): a save
/// whose sentences the live check already scored neither embeds nor runs the model again.
/// </summary>
public sealed class SentenceClassifier : ISentenceClassifier
{
    /// <summary>Scores kept (the embedding they hold is the embedder's cached one).</summary>
    public const int ScoresCapacity = 20_000;

    private readonly Lazy<SemanticModel> _model;
    private readonly Lazy<SentenceEmbedder> _embedder;
    private readonly BoundedCache<(UInt128 Text, ulong Rules), SentenceScores> _scores = new(ScoresCapacity);

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

    /// <summary>Sentence scores currently cached.</summary>
    public int CachedScores => _scores.Count;

    /// <summary>Forgets every cached score and embedding, so the next check embeds and scores afresh (benchmarks of
    /// the cold path).</summary>
    public void ClearCaches()
    {
        _scores.Clear();
        Embedder.ClearCache();
    }

    /// <inheritdoc/>
    public IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var model = Model;
        var categories = model.Classes.Count - 1;
        var scores = new SentenceScores[sentences.Count];
        var keys = new (UInt128 Text, ulong Rules)?[sentences.Count];
        List<int>? missing = null;
        for (var i = 0; i < sentences.Count; i++)
        {
            keys[i] = categories <= 64 ? (SentenceKey.HashOf(sentences[i].Text), RuleMask(model, sentences[i].RuleCategories, categories)) : null;
            if (keys[i] is { } key && _scores.TryGet(key, out var cached))
            {
                scores[i] = cached;
            }
            else
            {
                (missing ??= []).Add(i);
            }
        }

        if (missing is null)
        {
            return scores;
        }

        var vectors = Embedder.Embed([.. missing.Select(i => sentences[i].Text)], maxParallelism);
        Span<float> rules = stackalloc float[categories];
        for (var m = 0; m < missing.Count; m++)
        {
            var i = missing[m];
            rules.Clear();
            for (var c = 0; c < categories; c++)
            {
                rules[c] = sentences[i].RuleCategories.Contains(model.Classes[c + 1]) ? 1 : 0;
            }

            scores[i] = new SentenceScores(model.Classes, model.Predict(sentences[i].Text, vectors[m], rules), vectors[m]);
            if (keys[i] is { } key)
            {
                _scores.Add(key, scores[i]);
            }
        }

        return scores;
    }

    /// <inheritdoc/>
    public LabelledExample? Nearest(SentenceScores scores, string label)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return scores.Embedding is { } embedding ? Model.Nearest(embedding, label) : null;
    }

    /// <summary>The rule categories that matched, as bits in the model's category order (the rule features it reads).</summary>
    private static ulong RuleMask(SemanticModel model, IReadOnlySet<string> matched, int categories)
    {
        var mask = 0UL;
        for (var c = 0; c < categories; c++)
        {
            if (matched.Contains(model.Classes[c + 1]))
            {
                mask |= 1UL << c;
            }
        }

        return mask;
    }
}
