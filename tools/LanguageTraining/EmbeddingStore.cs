using System.Text;
using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>
/// Embeddings of training sentences, kept in a local file between runs (embedding 4,000 sentences takes about a
/// minute on two cores). Only a cache: deleting it changes nothing but the time.
/// </summary>
public sealed class EmbeddingStore
{
    private readonly string _path;
    private readonly Dictionary<string, float[]> _vectors = new(StringComparer.Ordinal);

    public EmbeddingStore(string path)
    {
        _path = path;
        if (!File.Exists(path))
        {
            return;
        }

        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        if (reader.BaseStream.Length == 0 || reader.ReadString() != SentenceEmbedder.ModelName)
        {
            return;
        }

        while (reader.BaseStream.Position < reader.BaseStream.Length)
        {
            var text = reader.ReadString();
            var vector = new float[SentenceEmbedder.Dimensions];
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] = reader.ReadSingle();
            }

            _vectors[text] = vector;
        }
    }

    public Dictionary<string, float[]> Embed(IEnumerable<string> sentences, TextWriter log)
    {
        var missing = sentences.Distinct(StringComparer.Ordinal).Where(s => !_vectors.ContainsKey(s)).ToList();
        if (missing.Count > 0)
        {
            log.WriteLine($"embedding {missing.Count} new sentences ({_vectors.Count} cached)...");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var vectors = SentenceEmbedder.Shared.Embed(missing, Environment.ProcessorCount);
            for (var i = 0; i < missing.Count; i++)
            {
                _vectors[missing[i]] = vectors[i];
            }

            log.WriteLine($"embedded in {watch.Elapsed.TotalSeconds:F1} s");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
            using var writer = new BinaryWriter(File.Create(_path), Encoding.UTF8);
            writer.Write(SentenceEmbedder.ModelName);
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
