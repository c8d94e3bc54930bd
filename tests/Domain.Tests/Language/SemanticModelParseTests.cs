using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;

namespace FeedbackHub.Domain.Tests.Language;

public sealed class SemanticModelParseTests
{
    [Fact]
    public void A_model_reading_embeddings_of_another_size_is_refused_at_load()
    {
        // What `LanguageTraining train --encoder both` writes: a head over two encoders' embeddings concatenated.
        var json = TinyModel(SentenceEmbedder.Dimensions * 2);

        var error = Assert.Throws<InvalidOperationException>(() => SemanticModel.Parse(json));

        Assert.Contains($"reads {SentenceEmbedder.Dimensions * 2}-dimensional embeddings", error.Message, StringComparison.Ordinal);
        Assert.Contains($"the embedder gives {SentenceEmbedder.Dimensions}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_training_tool_loads_a_model_over_its_own_embeddings_and_predicts()
    {
        var dimensions = SentenceEmbedder.Dimensions * 2;
        var model = SemanticModel.Parse(TinyModel(dimensions), dimensions);

        var probabilities = model.Predict("a sentence", new float[dimensions], [0]);

        Assert.Equal(2, probabilities.Length);
        Assert.Throws<InvalidOperationException>(() => SemanticModel.Parse(TinyModel(dimensions), SentenceEmbedder.Dimensions));
    }

    [Fact]
    public void A_model_over_the_embedders_size_loads()
    {
        Assert.Equal(SentenceEmbedder.Dimensions, SemanticModel.Parse(TinyModel(SentenceEmbedder.Dimensions)).Document.EmbeddingDimensions);
    }

    // One linear layer from the embedding to "safe" and one category; no lexical features, no examples.
    private static string TinyModel(int embeddingDimensions)
    {
        string[] classes = [SemanticModel.SafeClass, "insults-character"];
        var layer = new LayerDocument(embeddingDimensions, classes.Length, Relu: false,
            SemanticModel.EncodeWeights(new float[embeddingDimensions * classes.Length]), SemanticModel.EncodeWeights(new float[classes.Length]));
        var thresholds = new SemanticThresholds(new Dictionary<string, double> { ["insults-character"] = 0.5 }, Downgrade: 1.01, Drop: 1.01, DropProtected: 1.01);
        return SemanticModel.Serialize(new SemanticModelDocument(
            1, "test", string.Empty, "test encoders", 1, RuleFeatures: false, Vocabulary: null, classes, [layer], thresholds,
            new ExamplesDocument([], [], string.Empty), Training: null)
        { EmbeddingDimensions = embeddingDimensions });
    }
}
