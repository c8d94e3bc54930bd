using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FeedbackHub.Language.Semantic;

/// <summary>
/// The weights of all-MiniLM-L6-v2's last (sixth) transformer layer as fine-tuned on the labelled feedback sentences
/// (issue 14, eighth round; docs/language-checker.md): the 16 initializers of the packaged ONNX graph that make up the
/// layer, under their names in that graph, stored in <c>Model/minilm-last-layer.bin</c> as little-endian half-precision
/// floats in the order of <see cref="Shapes"/> (3.5 MB). <see cref="SentenceEmbedder"/> hands them to ONNX Runtime in
/// place of the packaged ones (<c>SessionOptions.AddInitializer</c>), so the packaged model runs unchanged otherwise; the
/// training tool (tools/LanguageTraining, <c>train</c>) writes the file.
/// </summary>
public static class MiniLmLastLayer
{
    /// <summary>Name of the embedded resource (and of the file under <c>src/Language.Semantic/Model</c>).</summary>
    public const string ResourceName = "FeedbackHub.Language.Semantic.Model.minilm-last-layer.bin";

    /// <summary>The layer's initializers in the packaged ONNX graph, in file order, with their shapes (MatMul weights are
    /// [inputs, outputs], as the graph multiplies).</summary>
    public static readonly IReadOnlyList<(string Name, int Rows, int Cols)> Shapes =
    [
        ("992", 384, 384), ("encoder.layer.5.attention.self.query.bias", 1, 384),
        ("993", 384, 384), ("encoder.layer.5.attention.self.key.bias", 1, 384),
        ("996", 384, 384), ("encoder.layer.5.attention.self.value.bias", 1, 384),
        ("1002", 384, 384), ("encoder.layer.5.attention.output.dense.bias", 1, 384),
        ("encoder.layer.5.attention.output.LayerNorm.weight", 1, 384), ("encoder.layer.5.attention.output.LayerNorm.bias", 1, 384),
        ("1003", 384, 1536), ("encoder.layer.5.intermediate.dense.bias", 1, 1536),
        ("1004", 1536, 384), ("encoder.layer.5.output.dense.bias", 1, 384),
        ("encoder.layer.5.output.LayerNorm.weight", 1, 384), ("encoder.layer.5.output.LayerNorm.bias", 1, 384),
    ];

    /// <summary>Values in the file: 1,774,464.</summary>
    public static int Count => Shapes.Sum(s => s.Rows * s.Cols);

    private static readonly Lazy<byte[]?> CommittedFile = new(() =>
    {
        using var stream = typeof(MiniLmLastLayer).Assembly.GetManifestResourceStream(ResourceName);
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

    /// <summary>The 16 weights of a file, in <see cref="Shapes"/> order.</summary>
    public static float[][] Read(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Length != Count * 2)
        {
            throw new InvalidDataException($"a last-layer file holds {Count * 2} bytes, this one {file.Length}");
        }

        var at = 0;
        return [.. Shapes.Select(s =>
        {
            var values = new float[s.Rows * s.Cols];
            for (var i = 0; i < values.Length; i++, at += 2)
            {
                values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(file.AsSpan(at, 2));
            }

            return values;
        })];
    }

    /// <summary>The file of 16 weights (each rounded to half precision).</summary>
    public static byte[] Write(IReadOnlyList<float[]> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count != Shapes.Count || weights.Where((w, i) => w.Length != Shapes[i].Rows * Shapes[i].Cols).Any())
        {
            throw new ArgumentException("not the 16 weights of the layer", nameof(weights));
        }

        var file = new byte[Count * 2];
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
