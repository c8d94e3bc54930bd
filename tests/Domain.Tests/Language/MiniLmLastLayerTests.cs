using System.Numerics.Tensors;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Domain.Tests.Language;

/// <summary>MiniLM's fine-tuned last layer (issue 14, eighth round): the committed file, and that the embedder runs it.</summary>
public sealed class MiniLmLastLayerTests
{
    [Fact]
    public void The_committed_layer_file_holds_the_16_weights_in_half_precision_and_reads_back_unchanged()
    {
        var file = MiniLmLastLayer.Committed();
        Assert.NotNull(file);
        var weights = MiniLmLastLayer.Read(file);
        Assert.Equal(MiniLmLastLayer.Shapes.Select(s => s.Rows * s.Cols), weights.Select(w => w.Length));
        Assert.All(weights, w => Assert.All(w, v => Assert.True(float.IsFinite(v))));
        Assert.Equal(file, MiniLmLastLayer.Write(weights));
        // LayerNorm gains near 1, as in any trained transformer layer (a file of zeros or noise would not be).
        var gain = weights[MiniLmLastLayer.Shapes.ToList().FindIndex(s => s.Name == "encoder.layer.5.output.LayerNorm.weight")];
        Assert.InRange(gain.Average(), 0.3, 3);
    }

    [Fact]
    public void A_file_of_the_wrong_size_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => MiniLmLastLayer.Read(new byte[100]));
        Assert.Throws<ArgumentException>(() => MiniLmLastLayer.Write([new float[3]]));
    }

    [Fact]
    public void The_shared_embedder_runs_the_committed_layer_and_the_trained_model_was_trained_on_its_vectors()
    {
        var file = MiniLmLastLayer.Committed()!;
        Assert.Equal(SentenceEmbedder.NameWithLastLayer(file), SentenceEmbedder.ModelName);
        Assert.Equal(SentenceEmbedder.ModelName, SentenceEmbedder.Shared.Name);
        Assert.Equal(SentenceEmbedder.ModelName, SemanticModel.Default.Document.Embedding);
        Assert.Contains(MiniLmLastLayer.Fingerprint(file), SentenceEmbedder.ModelName, StringComparison.Ordinal);
    }

    [Fact]
    public void The_tuned_layer_changes_the_embeddings_of_the_packaged_model_but_keeps_their_sense()
    {
        string[] sentences = ["She mentioned her kids twice, so I doubt she can commit to the hours.", "Her SQL was solid and she explained the index choice clearly."];
        using var packaged = new SentenceEmbedder(cacheCapacity: 10, lastLayer: []);
        Assert.Equal(SentenceEmbedder.PackagedModelName, packaged.Name);
        var before = packaged.Embed(sentences);
        var after = SentenceEmbedder.Shared.Embed(sentences);
        for (var i = 0; i < sentences.Length; i++)
        {
            Assert.Equal(1, TensorPrimitives.Norm(after[i]), 3);
            var cosine = TensorPrimitives.CosineSimilarity(before[i], after[i]);
            Assert.InRange(cosine, 0.5f, 0.9999f); // changed by the tuning, still the same sentence
        }
    }
}
