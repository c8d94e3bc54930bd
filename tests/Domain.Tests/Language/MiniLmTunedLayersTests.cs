using System.Numerics.Tensors;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Domain.Tests.Language;

/// <summary>MiniLM's fine-tuned top layers (issue 14, eighth and ninth rounds): the committed file, and that the embedder
/// runs it and a file of two layers.</summary>
public sealed class MiniLmTunedLayersTests
{
    private static readonly string[] Sentences = ["She mentioned her kids twice, so I doubt she can commit to the hours.", "Her SQL was solid and she explained the index choice clearly."];

    [Fact]
    public void The_committed_file_holds_the_last_layer_in_half_precision_and_reads_back_unchanged()
    {
        var file = MiniLmTunedLayers.Committed();
        Assert.NotNull(file);
        Assert.Equal(1, MiniLmTunedLayers.LayersIn(file));
        var shapes = MiniLmTunedLayers.Shapes(1);
        Assert.Equal(MiniLmTunedLayers.LayerShapes(5), shapes);
        var weights = MiniLmTunedLayers.Read(file);
        Assert.Equal(shapes.Select(s => s.Rows * s.Cols), weights.Select(w => w.Length));
        Assert.All(weights, w => Assert.All(w, v => Assert.True(float.IsFinite(v))));
        Assert.Equal(file, MiniLmTunedLayers.Write(weights));
        // LayerNorm gains near 1, as in any trained transformer layer (a file of zeros or noise would not be).
        var gain = weights[shapes.ToList().FindIndex(s => s.Name == "encoder.layer.5.output.LayerNorm.weight")];
        Assert.InRange(gain.Average(), 0.3, 3);
    }

    [Fact]
    public void A_file_of_the_wrong_size_or_a_layer_that_cannot_be_tuned_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => MiniLmTunedLayers.Read(new byte[100]));
        Assert.Throws<InvalidDataException>(() => MiniLmTunedLayers.Read(new byte[MiniLmTunedLayers.ValuesPerLayer * 2 * 3]));
        Assert.Throws<InvalidDataException>(() => MiniLmTunedLayers.Read([]));
        Assert.Throws<ArgumentException>(() => MiniLmTunedLayers.Write([new float[3]]));
        Assert.Throws<ArgumentOutOfRangeException>(() => MiniLmTunedLayers.LayerShapes(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => MiniLmTunedLayers.Shapes(3));
    }

    [Fact]
    public void A_file_of_the_last_two_layers_names_layer_4_first_and_the_embedder_runs_it()
    {
        // The committed last layer put in place of layer 4 as well: not a useful model, but every initializer name and
        // shape of a two-layer file must be one ONNX Runtime accepts, and the file must change what the model computes.
        var lastLayer = MiniLmTunedLayers.Read(MiniLmTunedLayers.Committed()!);
        var file = MiniLmTunedLayers.Write([.. lastLayer, .. lastLayer]);
        Assert.Equal(2, MiniLmTunedLayers.LayersIn(file));
        var shapes = MiniLmTunedLayers.Shapes(2);
        Assert.Equal(["979", "encoder.layer.4.attention.self.query.bias"], shapes.Take(2).Select(s => s.Name));
        Assert.Equal(MiniLmTunedLayers.LayerShapes(5), shapes.Skip(16));
        Assert.Equal(file, MiniLmTunedLayers.Write(MiniLmTunedLayers.Read(file)));

        using var twoLayers = new SentenceEmbedder(cacheCapacity: 10, tunedLayers: file);
        Assert.Contains("with its last two layers fine-tuned", twoLayers.Name, StringComparison.Ordinal);
        var two = twoLayers.Embed(Sentences);
        var one = SentenceEmbedder.Shared.Embed(Sentences);
        for (var i = 0; i < Sentences.Length; i++)
        {
            Assert.Equal(1, TensorPrimitives.Norm(two[i]), 3);
            Assert.InRange(TensorPrimitives.CosineSimilarity(one[i], two[i]), -1f, 0.9999f);
        }
    }

    [Fact]
    public void The_shared_embedder_runs_the_committed_layer_and_the_trained_model_was_trained_on_its_vectors()
    {
        var file = MiniLmTunedLayers.Committed()!;
        Assert.Equal(SentenceEmbedder.NameWithTunedLayers(file), SentenceEmbedder.ModelName);
        Assert.Contains("with its last layer fine-tuned", SentenceEmbedder.ModelName, StringComparison.Ordinal);
        Assert.Equal(SentenceEmbedder.ModelName, SentenceEmbedder.Shared.Name);
        Assert.Equal(SentenceEmbedder.ModelName, SemanticModel.Default.Document.Embedding);
        Assert.Contains(MiniLmTunedLayers.Fingerprint(file), SentenceEmbedder.ModelName, StringComparison.Ordinal);
    }

    [Fact]
    public void The_tuned_layer_changes_the_embeddings_of_the_packaged_model_but_keeps_their_sense()
    {
        using var packaged = new SentenceEmbedder(cacheCapacity: 10, tunedLayers: []);
        Assert.Equal(SentenceEmbedder.PackagedModelName, packaged.Name);
        var before = packaged.Embed(Sentences);
        var after = SentenceEmbedder.Shared.Embed(Sentences);
        for (var i = 0; i < Sentences.Length; i++)
        {
            Assert.Equal(1, TensorPrimitives.Norm(after[i]), 3);
            var cosine = TensorPrimitives.CosineSimilarity(before[i], after[i]);
            Assert.InRange(cosine, 0.5f, 0.9999f); // changed by the tuning, still the same sentence
        }
    }
}
