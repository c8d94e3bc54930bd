using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Serialization;

using FeedbackHub.Domain.Language;

namespace FeedbackHub.Language.Semantic;

/// <summary>
/// The trained head of the semantic stage (<c>src/Language.Semantic/Model/semantic-model.json</c>, an embedded resource written by
/// <c>tools/LanguageTraining</c>): a small network over the sentence embedding (plus, optionally, which rule categories
/// matched in the sentence) that gives the probability of "safe" and of each of the 16 categories, the decision
/// thresholds chosen on the validation set, and the labelled training sentences (int8 embeddings) that explain a
/// decision by the nearest example. Immutable and thread-safe.
/// </summary>
public sealed class SemanticModel
{
    /// <summary>Class 0: the sentence is safe (job-related).</summary>
    public const string SafeClass = SentenceScores.SafeClass;

    /// <summary>Size of the examples' stored vectors: a random ±1 projection of the embedding (keeps the artefact small;
    /// cosine similarity is approximately preserved, which is all the nearest-example explanation needs).</summary>
    public const int ExampleDimensions = 128;

    private static readonly sbyte[] Projection = ProjectionMatrix();

    private const string ResourceName = "FeedbackHub.Language.Semantic.Model.semantic-model.json";
    private static readonly Lazy<SemanticModel> DefaultModel = new(LoadEmbedded);

    private readonly Layer[] _layers;
    private readonly float[] _sparseColumns;
    private readonly sbyte[] _exampleVectors;
    private readonly float[] _exampleNorms;
    private readonly int[] _exampleLabels;
    private readonly string[] _exampleTexts;
    private readonly Dictionary<string, int> _classIndex;
    private readonly Dictionary<string, int> _vocabulary;

    private SemanticModel(SemanticModelDocument document, int embeddingDimensions)
    {
        // A model trained on other embeddings (the training tool's --encoder both) would otherwise load and fail on its first prediction.
        if (document.EmbeddingDimensions != embeddingDimensions)
        {
            throw new InvalidOperationException(
                $"The semantic model reads {document.EmbeddingDimensions}-dimensional embeddings ({document.Embedding}), " +
                $"but the embedder gives {embeddingDimensions}: a model trained on other embeddings (LanguageTraining train --encoder both) cannot be served.");
        }

        Document = document;
        Classes = document.Classes;
        _classIndex = document.Classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        if (Classes.Count == 0 || Classes[0] != SafeClass)
        {
            throw new InvalidOperationException("The semantic model's first class must be 'safe'.");
        }

        _layers = [.. document.Layers.Select(l => new Layer(l.Inputs, l.Outputs, Floats(l.Weights, l.Inputs * l.Outputs), Floats(l.Bias, l.Outputs), l.Relu))];
        _vocabulary = (document.Vocabulary ?? []).Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        var inputs = document.EmbeddingDimensions + (document.RuleFeatures ? Classes.Count - 1 : 0) + _vocabulary.Count + Math.Max(0, document.CharNgramBuckets);
        if (_layers.Length == 0 || _layers[0].Inputs != inputs || _layers[^1].Outputs != Classes.Count)
        {
            throw new InvalidOperationException("The semantic model's layers do not match its classes and features.");
        }

        _sparseColumns = _layers[0].Columns(inputs - _vocabulary.Count - Math.Max(0, document.CharNgramBuckets));

        _exampleTexts = [.. document.Examples.Texts];
        _exampleLabels = [.. document.Examples.Labels];
        _exampleVectors = (sbyte[])(Array)Convert.FromBase64String(document.Examples.Embeddings);
        if (_exampleLabels.Length != _exampleTexts.Length || _exampleVectors.Length != _exampleTexts.Length * ExampleDimensions)
        {
            throw new InvalidOperationException("The semantic model's examples are inconsistent.");
        }

        _exampleNorms = new float[_exampleTexts.Length];
        for (var i = 0; i < _exampleNorms.Length; i++)
        {
            var vector = _exampleVectors.AsSpan(i * ExampleDimensions, ExampleDimensions);
            _exampleNorms[i] = MathF.Sqrt(Dot(vector, vector));
        }
    }

    /// <summary>The model embedded in this assembly, loaded on first use.</summary>
    public static SemanticModel Default => DefaultModel.Value;

    /// <summary>The artefact as stored (versions, thresholds, cross-validation and validation figures).</summary>
    public SemanticModelDocument Document { get; }

    /// <summary><c>safe</c>, then the category ids, in the order of <see cref="Predict"/>'s probabilities.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The decision thresholds.</summary>
    public SemanticThresholds Thresholds => Document.Thresholds;

    /// <summary>Index of a class in <see cref="Classes"/>, or -1.</summary>
    public int ClassIndex(string name) => _classIndex.TryGetValue(name, out var i) ? i : -1;

    /// <summary>Parses an artefact (the JSON <c>tools/LanguageTraining train</c> writes) for <see cref="SentenceEmbedder"/>'s
    /// embeddings; refuses a model that reads embeddings of another size.</summary>
    public static SemanticModel Parse(string json) => Parse(json, SentenceEmbedder.Dimensions);

    /// <summary>Parses an artefact for a caller that supplies its own embeddings of <paramref name="embeddingDimensions"/>
    /// values (the training tool, whose <c>--encoder both</c> concatenates two encoders); refuses a model that reads another size.</summary>
    public static SemanticModel Parse(string json, int embeddingDimensions) =>
        new(JsonSerializer.Deserialize(json, SemanticModelJsonContext.Default.SemanticModelDocument)
            ?? throw new InvalidOperationException("The semantic model is empty."), embeddingDimensions);

    /// <summary>Serialises an artefact document (used by the training command).</summary>
    public static string Serialize(SemanticModelDocument document) =>
        JsonSerializer.Serialize(document, SemanticModelJsonContext.Default.SemanticModelDocument);

    /// <summary>
    /// The fingerprint recorded as <see cref="SemanticModelDocument.TrainingDataSha256"/>: SHA-256 over each training file's
    /// name (without folder) and content with line ends normalised to LF, in ordinal name order.
    /// </summary>
    public static string TrainingDataSha256(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var file in files.OrderBy(Path.GetFileName, StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(File.ReadAllText(file).Replace("\r\n", "\n", StringComparison.Ordinal)));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Class probabilities for one sentence.</summary>
    /// <param name="sentence">The sentence (for the lexical features).</param>
    /// <param name="embedding">The sentence embedding.</param>
    /// <param name="ruleCategories">Per category (in <see cref="Classes"/> order, without <c>safe</c>): 1 when a catalog rule
    /// of that category matched in the sentence; ignored when the model was trained without rule features.</param>
    public float[] Predict(string sentence, ReadOnlySpan<float> embedding, ReadOnlySpan<float> ruleCategories)
    {
        var network = PredictNetwork(sentence, embedding, ruleCategories);
        return Document.NeighbourWeight > 0 ? Blend(network, NeighbourVote(embedding), Document.NeighbourWeight) : network;
    }

    /// <summary>The network's class probabilities alone.</summary>
    /// <remarks>
    /// The lexical features are a vocabulary of thousands with a handful set per sentence, so the first layer reads
    /// them sparsely (the weights of the sentence's terms only); the result equals <see cref="Features"/> through every
    /// layer (a test compares them).
    /// </remarks>
    public float[] PredictNetwork(string sentence, ReadOnlySpan<float> embedding, ReadOnlySpan<float> ruleCategories)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        var dense = Document.EmbeddingDimensions + (Document.RuleFeatures ? Classes.Count - 1 : 0);
        Span<float> prefix = stackalloc float[dense];
        embedding[..Document.EmbeddingDimensions].CopyTo(prefix);
        if (Document.RuleFeatures)
        {
            ruleCategories.CopyTo(prefix[Document.EmbeddingDimensions..]);
        }

        var terms = _vocabulary.Count > 0 || Document.CharNgramBuckets > 0 ? LexicalFeatures.Terms(sentence) : [];
        var hits = _vocabulary.Count > 0 ? LexicalFeatures.Hits(terms, _vocabulary) : [];
        var grams = LexicalFeatures.CharNgrams(terms, Document.CharNgramBuckets);
        var input = _layers[0].ApplySparse(prefix, _sparseColumns, hits, LexicalFeatures.Value(hits.Count), _vocabulary.Count, grams, LexicalFeatures.Value(grams.Count));
        foreach (var layer in _layers.AsSpan(1))
        {
            input = layer.Apply(input);
        }

        TensorPrimitives.SoftMax(input, input);
        return input;
    }

    /// <summary>The network's class probabilities from the dense feature vector (<see cref="Features"/>): what
    /// <see cref="PredictNetwork"/> computes sparsely.</summary>
    public float[] PredictNetworkDense(float[] features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var input = features;
        foreach (var layer in _layers)
        {
            input = layer.Apply(input);
        }

        TensorPrimitives.SoftMax(input, input);
        return input;
    }

    /// <summary>
    /// The vote of the <see cref="SemanticModelDocument.Neighbours"/> most similar labelled examples (cosine on the stored
    /// int8 projections), each weighted by its similarity: class probabilities that follow wording the examples share
    /// with the sentence more closely than a linear head can. Uniform when the model has no examples.
    /// </summary>
    public float[] NeighbourVote(ReadOnlySpan<float> embedding)
    {
        var vote = new float[Classes.Count];
        var k = Math.Min(Math.Max(1, Document.Neighbours), _exampleLabels.Length);
        if (k == 0)
        {
            Array.Fill(vote, 1f / vote.Length);
            return vote;
        }

        Span<sbyte> query = stackalloc sbyte[ExampleDimensions];
        CompressExample(embedding, query);
        var queryNorm = MathF.Sqrt(Dot(query, query));
        var top = new (float Score, int Index)[k];
        Array.Fill(top, (float.MinValue, -1));
        for (var i = 0; i < _exampleLabels.Length; i++)
        {
            var score = Dot(query, _exampleVectors.AsSpan(i * ExampleDimensions, ExampleDimensions)) / ((queryNorm * _exampleNorms[i]) + 1e-6f);
            if (score <= top[^1].Score)
            {
                continue;
            }

            var at = k - 1;
            while (at > 0 && top[at - 1].Score < score)
            {
                top[at] = top[at - 1];
                at--;
            }

            top[at] = (score, i);
        }

        var total = 0f;
        foreach (var (score, index) in top)
        {
            if (index >= 0 && score > 0)
            {
                vote[_exampleLabels[index]] += score;
                total += score;
            }
        }

        if (total == 0)
        {
            Array.Fill(vote, 1f / vote.Length);
            return vote;
        }

        TensorPrimitives.Divide(vote, total, vote);
        return vote;
    }

    /// <summary>(1 - weight) * network + weight * vote.</summary>
    public static float[] Blend(float[] network, float[] vote, double weight)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(vote);
        var blended = new float[network.Length];
        for (var i = 0; i < blended.Length; i++)
        {
            blended[i] = (float)(((1 - weight) * network[i]) + (weight * vote[i]));
        }

        return blended;
    }

    /// <summary>The network's input for a sentence: embedding, then rule categories (if used), then lexical features (if used).</summary>
    public float[] Features(string sentence, ReadOnlySpan<float> embedding, ReadOnlySpan<float> ruleCategories)
    {
        ArgumentNullException.ThrowIfNull(sentence);
        var input = new float[_layers[0].Inputs];
        embedding[..Document.EmbeddingDimensions].CopyTo(input);
        var at = Document.EmbeddingDimensions;
        if (Document.RuleFeatures)
        {
            ruleCategories.CopyTo(input.AsSpan(at));
            at += Classes.Count - 1;
        }

        if (_vocabulary.Count > 0 || Document.CharNgramBuckets > 0)
        {
            LexicalFeatures.Fill(sentence, _vocabulary, Math.Max(0, Document.CharNgramBuckets), input.AsSpan(at));
        }

        return input;
    }

    /// <summary>The nearest labelled training sentence of a class (cosine similarity), or null if it has none.</summary>
    public LabelledExample? Nearest(ReadOnlySpan<float> embedding, string label)
    {
        var wanted = ClassIndex(label);
        Span<sbyte> query = stackalloc sbyte[ExampleDimensions];
        CompressExample(embedding, query);
        var queryNorm = MathF.Sqrt(Dot(query, query));
        var best = -1;
        var bestScore = float.MinValue;
        for (var i = 0; i < _exampleLabels.Length; i++)
        {
            if (_exampleLabels[i] != wanted)
            {
                continue;
            }

            var score = Dot(query, _exampleVectors.AsSpan(i * ExampleDimensions, ExampleDimensions)) / (queryNorm * _exampleNorms[i]);
            if (score > bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best < 0 ? null : new LabelledExample(_exampleTexts[best], wanted == 0 ? null : label, Math.Round(Math.Clamp(bestScore, 0, 1), 3));
    }

    /// <summary>An embedding as stored for the examples: projected to <see cref="ExampleDimensions"/>, scaled to int8.</summary>
    public static void CompressExample(ReadOnlySpan<float> embedding, Span<sbyte> into)
    {
        Span<float> projected = stackalloc float[ExampleDimensions];
        for (var r = 0; r < ExampleDimensions; r++)
        {
            var sum = 0f;
            var row = Projection.AsSpan(r * SentenceEmbedder.Dimensions, SentenceEmbedder.Dimensions);
            for (var c = 0; c < row.Length; c++)
            {
                sum += row[c] * embedding[c];
            }

            projected[r] = sum;
        }

        var max = TensorPrimitives.MaxMagnitude(projected);
        var scale = max == 0 ? 0 : 127f / Math.Abs(max);
        for (var i = 0; i < ExampleDimensions; i++)
        {
            into[i] = (sbyte)Math.Clamp(MathF.Round(projected[i] * scale), -127f, 127f);
        }
    }

    private static float Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        var sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    // ±1 entries from SplitMix64 with a fixed seed: the same matrix on every machine and runtime.
    private static sbyte[] ProjectionMatrix()
    {
        var matrix = new sbyte[ExampleDimensions * SentenceEmbedder.Dimensions];
        var state = 0x5EED_0014UL;
        for (var i = 0; i < matrix.Length; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            matrix[i] = (z & 1) == 0 ? (sbyte)1 : (sbyte)-1;
        }

        return matrix;
    }

    private static float[] Floats(string base64, int count)
    {
        var bytes = Convert.FromBase64String(base64);
        if (bytes.Length != count * 2)
        {
            throw new InvalidOperationException("A semantic model layer has the wrong size.");
        }

        var floats = new float[count];
        for (var i = 0; i < count; i++)
        {
            floats[i] = (float)System.Buffers.Binary.BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2));
        }

        return floats;
    }

    /// <summary>Weights as stored: base64 of little-endian float16 (half the size of float32; the loss is far below what matters for a linear head).</summary>
    public static string EncodeWeights(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
        }

        return Convert.ToBase64String(bytes);
    }

    private static SemanticModel LoadEmbedded()
    {
        using var stream = typeof(SemanticModel).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    private sealed record Layer(int Inputs, int Outputs, float[] Weights, float[] Bias, bool Relu)
    {
        // Weights are row-major, one row of Inputs per output.
        public float[] Apply(float[] input)
        {
            var output = new float[Outputs];
            for (var o = 0; o < Outputs; o++)
            {
                var value = Bias[o] + TensorPrimitives.Dot(Weights.AsSpan(o * Inputs, Inputs), input);
                output[o] = Relu ? Math.Max(0, value) : value;
            }

            return output;
        }

        /// <summary>The weights of the inputs from <paramref name="start"/> on, column by column (for each input, its
        /// <c>Outputs</c> weights side by side): a sparse input then reads one cache line per term instead of one per output.</summary>
        public float[] Columns(int start)
        {
            var columns = new float[(Inputs - start) * Outputs];
            for (var o = 0; o < Outputs; o++)
            {
                for (var j = start; j < Inputs; j++)
                {
                    columns[((j - start) * Outputs) + o] = Weights[(o * Inputs) + j];
                }
            }

            return columns;
        }

        /// <summary>As <see cref="Apply"/> for an input that is <paramref name="dense"/> followed by zeros except
        /// <paramref name="value"/> at each of <paramref name="hits"/> (offsets after the dense part) and
        /// <paramref name="gramValue"/> at each of <paramref name="grams"/> (offsets after the dense part and the
        /// <paramref name="vocabulary"/> terms); <paramref name="columns"/> are the sparse part's weights from
        /// <see cref="Columns"/>.</summary>
        public float[] ApplySparse(ReadOnlySpan<float> dense, float[] columns, List<int> hits, float value, int vocabulary, List<int> grams, float gramValue)
        {
            Span<float> sparse = stackalloc float[Outputs];
            Span<float> sparseGrams = stackalloc float[Outputs];
            sparse.Clear();
            sparseGrams.Clear();
            foreach (var index in hits)
            {
                var column = columns.AsSpan(index * Outputs, Outputs);
                for (var o = 0; o < Outputs; o++)
                {
                    sparse[o] += column[o];
                }
            }

            foreach (var index in grams)
            {
                var column = columns.AsSpan((vocabulary + index) * Outputs, Outputs);
                for (var o = 0; o < Outputs; o++)
                {
                    sparseGrams[o] += column[o];
                }
            }

            var output = new float[Outputs];
            for (var o = 0; o < Outputs; o++)
            {
                var row = Weights.AsSpan(o * Inputs, Inputs);
                var result = Bias[o] + TensorPrimitives.Dot(row[..dense.Length], dense) + (value * sparse[o]) + (gramValue * sparseGrams[o]);
                output[o] = Relu ? Math.Max(0, result) : result;
            }

            return output;
        }
    }
}

/// <summary>The JSON artefact of the semantic stage.</summary>
/// <param name="Format">Artefact format version.</param>
/// <param name="CatalogVersion">The rule catalog version it was trained with (rules.json <c>version</c>): must equal the shipped one.</param>
/// <param name="TrainingDataSha256">SHA-256 over the training files (name and content, in name order): a test proves it matches the committed data.</param>
/// <param name="Embedding">The sentence model used.</param>
/// <param name="Seed">Seed of the training run.</param>
/// <param name="RuleFeatures">Whether the network also reads which rule categories matched in the sentence.</param>
/// <param name="Vocabulary">Words and word pairs read as lexical features (<see cref="LexicalFeatures"/>), or null for none.</param>
/// <param name="Classes"><c>safe</c>, then the categories.</param>
/// <param name="Layers">The network, input to output.</param>
/// <param name="Thresholds">Decision thresholds, chosen on the validation set (or by cross-validation on the training data, <c>train --thresholds cv</c>).</param>
/// <param name="Examples">The labelled training sentences for "nearest example" explanations.</param>
/// <param name="Training">What the training run saw and measured (counts, cross-validation figures), for the record.</param>
/// <param name="NeighbourWeight">Weight of the nearest-examples vote in the probabilities (0: the network alone), chosen with the thresholds.</param>
/// <param name="Neighbours">How many nearest labelled examples vote.</param>
/// <param name="CharNgramBuckets">Hashed character n-gram features (<see cref="LexicalFeatures.CharNgrams"/>) after the vocabulary, or 0 for none.</param>
/// <param name="EmbeddingDimensions">Size of the sentence embedding the network reads (<see cref="SentenceEmbedder.Dimensions"/>;
/// larger when the training tool's <c>--encoder both</c> concatenates two encoders' embeddings). The nearest-example
/// projection reads the first <see cref="SentenceEmbedder.Dimensions"/> values.</param>
public sealed record SemanticModelDocument(
    int Format,
    string CatalogVersion,
    string TrainingDataSha256,
    string Embedding,
    int Seed,
    bool RuleFeatures,
    IReadOnlyList<string>? Vocabulary,
    IReadOnlyList<string> Classes,
    IReadOnlyList<LayerDocument> Layers,
    SemanticThresholds Thresholds,
    ExamplesDocument Examples,
    JsonElement? Training,
    double NeighbourWeight = 0,
    int Neighbours = 10,
    int CharNgramBuckets = 0,
    int EmbeddingDimensions = SentenceEmbedder.Dimensions);

/// <summary>A dense layer: base64 of little-endian float16 (<see cref="SemanticModel.EncodeWeights"/>), weights row-major (one row of <c>Inputs</c> per output).</summary>
public sealed record LayerDocument(int Inputs, int Outputs, bool Relu, string Weights, string Bias);

/// <summary>Labelled sentences: texts, class indexes, and base64 of their compressed embeddings
/// (<see cref="SemanticModel.CompressExample"/>: <see cref="SemanticModel.ExampleDimensions"/> int8 values per sentence).</summary>
public sealed record ExamplesDocument(IReadOnlyList<string> Texts, IReadOnlyList<int> Labels, string Embeddings);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SemanticModelDocument))]
internal sealed partial class SemanticModelJsonContext : JsonSerializerContext;
