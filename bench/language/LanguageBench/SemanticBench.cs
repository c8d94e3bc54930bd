using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Bench.Language;

/// <summary>
/// <c>LanguageBench --semantic</c>: stopwatch figures for the full engine (model load, memory, sentences/s on one and
/// two cores, live-check latency of a 2,000-character answer). Not BenchmarkDotNet: these are seconds-long,
/// cache-dependent measurements where a plain stopwatch with percentiles says more.
/// </summary>
public static class SemanticBench
{
    public static void Run()
    {
        var inv = CultureInfo.InvariantCulture;
        var sentences = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "corpus.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!)
            .SelectMany(t => SentenceSegmenter.Segment(t).Select(s => s.Text))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US"));

        // Load: memory and time.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var (workingBefore, privateBefore, managedBefore) = (process.WorkingSet64, process.PrivateMemorySize64, GC.GetTotalMemory(true));
        var watch = Stopwatch.StartNew();
        var model = SemanticModel.Default;
        var modelLoad = watch.Elapsed;
        var embedder = SentenceEmbedder.Shared;
        var classifier = SentenceClassifier.Shared;
        var loaded = watch.Elapsed;
        classifier.Classify([new SentenceInput("Warm-up sentence.", new HashSet<string>())], 1);
        var firstCheck = watch.Elapsed;
        GC.Collect();
        process.Refresh();
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine(string.Create(inv, $"| trained head (semantic-model.json) parse | {modelLoad.TotalMilliseconds:F0} ms |"));
        Console.WriteLine(string.Create(inv, $"| MiniLM load (ONNX session from the package's embedded model) | {embedder.LoadTime.TotalMilliseconds:F0} ms |"));
        Console.WriteLine(string.Create(inv, $"| first sentence after load (JIT, ONNX Runtime warm-up) | {(firstCheck - loaded).TotalMilliseconds:F0} ms |"));
        Console.WriteLine(string.Create(inv, $"| working set added by the loaded model | {(process.WorkingSet64 - workingBefore) / 1048576.0:F0} MB |"));
        Console.WriteLine(string.Create(inv, $"| private memory added | {(process.PrivateMemorySize64 - privateBefore) / 1048576.0:F0} MB |"));
        Console.WriteLine(string.Create(inv, $"| managed heap added (head, examples, vocabulary) | {(GC.GetTotalMemory(true) - managedBefore) / 1048576.0:F1} MB |"));
        Console.WriteLine(string.Create(inv, $"| artefact (semantic-model.json: head, thresholds, {model.Document.Examples.Texts.Count} examples, {model.Document.Vocabulary?.Count ?? 0} terms) | {SerializedKb(model)} KB |"));

        // Throughput: distinct sentences, cache cleared, one core and two.
        foreach (var cores in new[] { 1, 2 })
        {
            embedder.ClearCache();
            watch.Restart();
            embedder.Embed(sentences, cores);
            var embed = watch.Elapsed.TotalSeconds;
            classifier.ClearCaches();
            var full = FullLanguageChecker.Create(rules, SentenceClassifier.Shared, cores);
            watch.Restart();
            full.CheckMany(sentences);
            var check = watch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(inv, $"| sentences/s, {cores} core(s): embedding only / full check ({sentences.Length} distinct sentences, cache cleared) | {sentences.Length / embed:F0} / {sentences.Length / check:F0} |"));
        }

        // Live check: a 2,000-character answer, warm process. Cold = none of its sentences embedded yet; cached = the
        // same text again (what the live check sends while the user reads); one edit = one sentence changed.
        var answers = Enumerable.Range(0, 40).Select(i => Answer(sentences, 2000, i)).ToList();
        foreach (var cores in new[] { 1, 2 })
        {
            var full = FullLanguageChecker.Create(rules, SentenceClassifier.Shared, cores);
            var cold = new List<double>();
            var cached = new List<double>();
            var edited = new List<double>();
            foreach (var answer in answers)
            {
                // Both caches: the classifier keeps each sentence's scores as well as its embedding.
                classifier.ClearCaches();
                cold.Add(Time(() => full.Check(answer)));
                cached.Add(Time(() => full.Check(answer)));
                var at = answer.IndexOf(". ", 200, StringComparison.Ordinal);
                edited.Add(Time(() => full.Check(answer.Insert(at, " really"))));
            }

            Console.WriteLine(string.Create(inv, $"| live check, 2,000 characters (~{SentenceSegmenter.Segment(answers[0]).Count} sentences), {cores} core(s): p50 / p95, nothing cached | {P(cold, 50):F0} / {P(cold, 95):F0} ms |"));
            Console.WriteLine(string.Create(inv, $"| same, one sentence edited since the last check | {P(edited, 50):F1} / {P(edited, 95):F1} ms |"));
            Console.WriteLine(string.Create(inv, $"| same, unchanged text (all cached) | {P(cached, 50):F2} / {P(cached, 95):F2} ms |"));
        }

        var rulesAnswers = answers.Select(a => Time(() => rules.Check(a))).ToList();
        Console.WriteLine(string.Create(inv, $"| live check, rules only, same answers: p50 / p95 | {P(rulesAnswers, 50):F3} / {P(rulesAnswers, 95):F3} ms |"));
    }

    private static string Answer(string[] sentences, int chars, int seed)
    {
        var random = new Random(seed);
        var builder = new StringBuilder();
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

    private static long SerializedKb(SemanticModel model) => Encoding.UTF8.GetByteCount(SemanticModel.Serialize(model.Document)) / 1024;
}
