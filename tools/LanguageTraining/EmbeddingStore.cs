using System.Text;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>
/// Embeddings of training sentences, kept in a local file between runs (embedding 4,000 sentences takes about a
/// minute on two cores). Only a cache: deleting it changes nothing but the time. One file per encoder
/// (<see cref="ForEncoder"/>).
/// </summary>
public sealed class EmbeddingStore
{
    private readonly string _path;
    private readonly string _modelName;
    private readonly Func<IReadOnlyList<string>, float[][]> _embed;
    private readonly Dictionary<string, float[]> _vectors = new(StringComparer.Ordinal);

    public EmbeddingStore(string path)
        : this(path, SentenceEmbedder.PackagedModelName, SentenceEmbedder.Dimensions, s => Packaged.Embed(s, Environment.ProcessorCount))
    {
    }

    /// <summary>The packaged MiniLM as it is, without the committed fine-tuned layers: what the frozen-encoder rounds
    /// read and where the tuning of the top layers starts.</summary>
    public static SentenceEmbedder Packaged => PackagedInstance.Value;

    private static readonly Lazy<SentenceEmbedder> PackagedInstance = new(() => new SentenceEmbedder(tunedLayers: []));

    public EmbeddingStore(string path, string modelName, int dimensions, Func<IReadOnlyList<string>, float[][]> embed)
    {
        _path = path;
        _modelName = modelName;
        _embed = embed;
        if (!File.Exists(path))
        {
            return;
        }

        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        if (reader.BaseStream.Length == 0 || reader.ReadString() != modelName)
        {
            return;
        }

        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            var text = reader.ReadString();
            var vector = new float[dimensions];
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] = reader.ReadSingle();
            }

            _vectors[text] = vector;
        }
    }

    /// <summary>
    /// The embeddings the head reads for <paramref name="encoder"/>: <c>minilm</c> (the shipped one, cached in
    /// <paramref name="cache"/>), <c>arctic</c> (arctic-embed-xs, cached beside it), <c>both</c> (MiniLM's 384 values,
    /// then arctic's 384), <c>minilm-max</c> (MiniLM's mean, then its max pooling over the word pieces: <see cref="OnnxMiniLm"/>)
    /// or <c>minilm-int8</c> (the int8 quantisation in <paramref name="miniLmFiles"/>, cached beside MiniLM's).
    /// </summary>
    public static Func<IEnumerable<string>, TextWriter, Dictionary<string, float[]>> ForEncoder(string encoder, string cache, string miniLmFiles)
    {
        var minilm = new Lazy<EmbeddingStore>(() => new EmbeddingStore(cache));
#if ARCTIC
        var arcticEmbedder = new Lazy<ArcticEmbedder>(() => new ArcticEmbedder());
        var arctic = new Lazy<EmbeddingStore>(() => new EmbeddingStore(
            Beside(cache, "arctic"),
            ArcticEmbedder.ModelName, SentenceEmbedder.Dimensions, s => arcticEmbedder.Value.Embed(s, Environment.ProcessorCount)));
#else
        var arctic = new Lazy<EmbeddingStore>(() => throw new ArgumentException("--encoder arctic|both needs a build with -p:Arctic=true (dotnet run --project tools/LanguageTraining -c Release -p:Arctic=true -- train ...)"));
#endif
        var maxEmbedder = new Lazy<OnnxMiniLm>(() => new OnnxMiniLm(OnnxMiniLm.PackagedModel(), MiniLmPooling.MaxOverWordPieces));
        var max = new Lazy<EmbeddingStore>(() => new EmbeddingStore(
            Beside(cache, "max"),
            OnnxMiniLm.MaxModelName, SentenceEmbedder.Dimensions, s => maxEmbedder.Value.Embed(s, Environment.ProcessorCount)));
        var int8File = Path.Combine(miniLmFiles, "minilm-int8.onnx");
        var int8 = new Lazy<EmbeddingStore>(() =>
        {
            if (!File.Exists(int8File))
            {
                throw new FileNotFoundException($"{int8File} is missing: run tools/LanguageTraining/minilm-files.sh first.");
            }

            var bytes = File.ReadAllBytes(int8File);
            var embedder = new OnnxMiniLm(bytes, MiniLmPooling.Mean);
            return new EmbeddingStore(Beside(cache, "int8"), $"{Int8ModelName} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16]}",
                SentenceEmbedder.Dimensions, s => embedder.Embed(s, Environment.ProcessorCount));
        });
        return encoder switch
        {
            "minilm" => (s, log) => minilm.Value.Embed(s, log),
            "minilm-max" => (s, log) => SideBySide(minilm.Value, max.Value, s, log),
            "minilm-int8" => (s, log) => int8.Value.Embed(s, log),
            "arctic" => (s, log) => arctic.Value.Embed(s, log),
            "both" => (s, log) => SideBySide(minilm.Value, arctic.Value, s, log),
            _ => throw new ArgumentException(EncoderChoices),
        };
    }

    /// <summary>The cache file of another encoder, beside MiniLM's (<c>embeddings.bin</c> → <c>embeddings-max.bin</c>).</summary>
    private static string Beside(string cache, string encoder) =>
        Path.Combine(Path.GetDirectoryName(cache) ?? ".", Path.GetFileNameWithoutExtension(cache) + "-" + encoder + Path.GetExtension(cache));

    /// <summary>What <c>--encoder</c> takes.</summary>
    public const string EncoderChoices = "--encoder takes minilm, minilm-max, minilm-tuned, minilm-int8, arctic or both";

    /// <summary>The int8 quantisation of MiniLM (bench/language/quantize-int8.py; eighth round), mean-pooled.</summary>
    public const string Int8ModelName = "all-MiniLM-L6-v2 int8 (bench/language/quantize-int8.py: DynamicQuantizeMatMul, per-column int8 weights), mean-pooled, text prepared by SentenceEmbedder.Prepare (3)";

    /// <summary>Each sentence's vector from <paramref name="first"/>, then its vector from <paramref name="second"/>.</summary>
    private static Dictionary<string, float[]> SideBySide(EmbeddingStore first, EmbeddingStore second, IEnumerable<string> sentences, TextWriter log)
    {
        var list = sentences.ToList();
        var a = first.Embed(list, log);
        var b = second.Embed(list, log);
        return a.Keys.Where(b.ContainsKey).ToDictionary(k => k, k => (float[])[.. a[k], .. b[k]], StringComparer.Ordinal);
    }

    public Dictionary<string, float[]> Embed(IEnumerable<string> sentences, TextWriter log)
    {
        var missing = sentences.Distinct(StringComparer.Ordinal).Where(s => !_vectors.ContainsKey(s)).ToList();
        if (missing.Count > 0)
        {
            log.WriteLine($"embedding {missing.Count} new sentences ({_vectors.Count} cached) with {_modelName}...");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var vectors = _embed(missing);
            for (var i = 0; i < missing.Count; i++)
            {
                _vectors[missing[i]] = vectors[i];
            }

            log.WriteLine($"embedded in {watch.Elapsed.TotalSeconds:F1} s");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
            using var writer = new BinaryWriter(File.Create(_path), Encoding.UTF8);
            writer.Write(_modelName);
            foreach (var (text, vector) in _vectors.OrderBy(v => v.Key, StringComparer.Ordinal))
            {
                writer.Write(text);
                foreach (var value in vector)
                {
                    writer.Write(value);
                }
            }
        }

        return _vectors;
    }
}
