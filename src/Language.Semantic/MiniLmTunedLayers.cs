using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FeedbackHub.Language.Semantic;

/// <summary>
/// The weights of all-MiniLM-L6-v2's top transformer layers as fine-tuned on the labelled feedback sentences (issue 14:
/// the last layer since the eighth round; a file may hold the last two, which the ninth round measured;
/// docs/language-checker.md): the 16 initializers of
/// the packaged ONNX graph that make up each layer, under their names in that graph, stored in
/// <c>Model/minilm-tuned-layers.bin</c> as little-endian half-precision floats, the lower layer first, each in the
/// order of <see cref="LayerShapes"/> (3.5 MB per layer). <see cref="SentenceEmbedder"/> hands them to ONNX Runtime in
/// place of the packaged ones (<c>SessionOptions.AddInitializer</c>), so the packaged model runs unchanged otherwise; the
/// training tool (tools/LanguageTraining, <c>train</c>) writes the file.
/// </summary>
public static class MiniLmTunedLayers
{
    /// <summary>Name of the file under <c>src/Language.Semantic/Model</c> (and beside a training run's artefact).</summary>
    public const string FileName = "minilm-tuned-layers.bin";

    /// <summary>Name of the embedded resource.</summary>
    public const string ResourceName = "FeedbackHub.Language.Semantic.Model." + FileName;

    /// <summary>How many of the top layers a file may hold: the last one, or the last two.</summary>
    public const int MaxLayers = 2;

    /// <summary>Index of MiniLM's last layer (its six layers are numbered 0 to 5 in the graph).</summary>
    public const int LastLayer = 5;

    // The graph names its six MatMul weights of a layer by number (query, key, value, attention output, intermediate,
    // output), and the rest by path.
    private static readonly Dictionary<int, string[]> MatMulNames = new()
    {
        [4] = ["979", "980", "983", "989", "990", "991"],
        [5] = ["992", "993", "996", "1002", "1003", "1004"],
    };

    /// <summary>Values per layer: 1,774,464.</summary>
    public static int ValuesPerLayer { get; } = LayerShapes(LastLayer).Sum(s => s.Rows * s.Cols);

    /// <summary>The initializers of layer <paramref name="layer"/> (4 or 5) in the packaged ONNX graph, in file order, with
    /// their shapes (MatMul weights are [inputs, outputs], as the graph multiplies).</summary>
    public static IReadOnlyList<(string Name, int Rows, int Cols)> LayerShapes(int layer)
    {
        if (!MatMulNames.TryGetValue(layer, out var m))
        {
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"only layers {LastLayer - MaxLayers + 1} to {LastLayer} can be tuned");
        }

        var p = $"encoder.layer.{layer}.";
        return
        [
            (m[0], 384, 384), (p + "attention.self.query.bias", 1, 384),
            (m[1], 384, 384), (p + "attention.self.key.bias", 1, 384),
            (m[2], 384, 384), (p + "attention.self.value.bias", 1, 384),
            (m[3], 384, 384), (p + "attention.output.dense.bias", 1, 384),
            (p + "attention.output.LayerNorm.weight", 1, 384), (p + "attention.output.LayerNorm.bias", 1, 384),
            (m[4], 384, 1536), (p + "intermediate.dense.bias", 1, 1536),
            (m[5], 1536, 384), (p + "output.dense.bias", 1, 384),
            (p + "output.LayerNorm.weight", 1, 384), (p + "output.LayerNorm.bias", 1, 384),
        ];
    }

    /// <summary>The graph's indices of the top <paramref name="layers"/> layers (1 or 2), the lowest first: the layers a
    /// file of that many holds, in file order.</summary>
    public static IReadOnlyList<int> TopLayerIndices(int layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layers, MaxLayers);
        return [.. Enumerable.Range(LastLayer - layers + 1, layers)];
    }

    /// <summary>The initializers of a file of the top <paramref name="layers"/> layers, in file order.</summary>
    public static IReadOnlyList<(string Name, int Rows, int Cols)> Shapes(int layers) => [.. TopLayerIndices(layers).SelectMany(LayerShapes)];

    /// <summary>How many layers a file holds (1 or 2).</summary>
    public static int LayersIn(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var perLayer = ValuesPerLayer * 2;
        if (file.Length == 0 || file.Length % perLayer != 0 || file.Length / perLayer > MaxLayers)
        {
            throw new InvalidDataException($"a tuned-layers file holds {perLayer} bytes per layer, at most {MaxLayers} layers; this one {file.Length}");
        }

        return file.Length / perLayer;
    }

    private static readonly Lazy<byte[]?> CommittedFile = new(() =>
    {
        using var stream = typeof(MiniLmTunedLayers).Assembly.GetManifestResourceStream(ResourceName);
        if (stream is null)
        {
            return null;
        }

        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    });

    /// <summary>The committed file's bytes (read from the assembly once per process; do not modify them), or null when
    /// the assembly carries none.</summary>
    public static byte[]? Committed() => CommittedFile.Value;

    /// <summary>The weights of a file, in <see cref="Shapes"/> order.</summary>
    public static float[][] Read(byte[] file)
    {
        var at = 0;
        return [.. Shapes(LayersIn(file)).Select(s =>
        {
            var values = new float[s.Rows * s.Cols];
            for (var i = 0; i < values.Length; i++, at += 2)
            {
                values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(file.AsSpan(at, 2));
            }

            return values;
        })];
    }

    /// <summary>The file of the weights of the top one or two layers (each value rounded to half precision).</summary>
    public static byte[] Write(IReadOnlyList<float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var perLayer = LayerShapes(LastLayer);
        if (weights.Count == 0 || weights.Count % perLayer.Count != 0 || weights.Count / perLayer.Count > MaxLayers
            || weights.Where((w, i) => w.Length != perLayer[i % perLayer.Count].Rows * perLayer[i % perLayer.Count].Cols).Any())
        {
            throw new ArgumentException($"not the {perLayer.Count} weights of each of one or two layers", nameof(weights));
        }

        var file = new byte[weights.Sum(w => w.Length) * 2];
        var at = 0;
        foreach (var value in weights.SelectMany(w => w))
        {
            BinaryPrimitives.WriteHalfLittleEndian(file.AsSpan(at, 2), (Half)value);
            at += 2;
        }

        return file;
    }

    /// <summary>A short fingerprint of a file, recorded in <see cref="SentenceEmbedder.ModelName"/>.</summary>
    public static string Fingerprint(byte[] file) => Convert.ToHexStringLower(SHA256.HashData(file))[..12];
}
