namespace FeedbackHub.Domain.Language;

/// <summary>A sentence to classify, with the catalog rule categories that matched in it.</summary>
public sealed record SentenceInput(string Text, IReadOnlySet<string> RuleCategories);

/// <summary>The model's view of one sentence: a probability per class (<c>safe</c> and each category).</summary>
public sealed class SentenceScores(IReadOnlyList<string> classes, float[] probabilities, float[]? embedding)
{
    /// <summary>The class of a safe (job-related) sentence; a model's class 0.</summary>
    public const string SafeClass = "safe";

    /// <summary>Probability that the sentence is safe (job-related).</summary>
    public double Safe => probabilities[0];

    /// <summary>The embedding (for the nearest-example lookup), if the classifier has one.</summary>
    public float[]? Embedding => embedding;

    /// <summary>Probability of a class; 0 for a class the model does not know.</summary>
    public double this[string label]
    {
        get
        {
            for (var i = 0; i < classes.Count; i++)
            {
                if (classes[i] == label)
                {
                    return probabilities[i];
                }
            }

            return 0;
        }
    }
}

/// <summary>What the decision policy of <see cref="FullLanguageChecker"/> needs from a sentence model: the semantic stage
/// (the shipped one is <c>FeedbackHub.Language.Semantic.SentenceClassifier</c>, in its own assembly so that hosts that never
/// run the full engine, like the Worker, neither ship nor load the model).</summary>
public interface ISentenceClassifier
{
    /// <summary>The decision thresholds.</summary>
    SemanticThresholds Thresholds { get; }

    /// <summary>Scores sentences (in order).</summary>
    IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism);

    /// <summary>The nearest labelled training sentence of a label (<c>safe</c> or a category), as an explanation.</summary>
    LabelledExample? Nearest(SentenceScores scores, string label);
}

/// <summary>How the semantic stage decides (see docs/language-checker.md, "Decision policy").</summary>
/// <param name="Category">Per category: the model's probability from which a sentence with no rule finding of that category gets a model finding.</param>
/// <param name="Downgrade">P(safe) from which a rule's <c>block</c> finding becomes a <c>warn</c> (the model reads the sentence as job-related).</param>
/// <param name="Drop">P(safe) from which a rule finding of a category that is not a protected characteristic is dropped.</param>
/// <param name="DropProtected">P(safe) from which a rule finding of a protected characteristic is dropped (stronger evidence).</param>
/// <param name="Risk">1 - P(safe) from which a sentence gets a model finding of its most likely category even when no single
/// category reaches its own threshold (the risk is spread over neighbouring categories); above 1: off.</param>
/// <param name="RunnerUp">For a sentence that already has a finding and that the model reads as risky (1 - P(safe) at least
/// 0.5): the model's two likeliest categories also get a model finding when their probability is at least this fraction of
/// the likeliest one's (the risk sits between two near categories, e.g. orientation or sex/gender); above 1: off.</param>
public sealed record SemanticThresholds(
    IReadOnlyDictionary<string, double> Category,
    double Downgrade,
    double Drop,
    double DropProtected,
    double Risk = 1.01,
    double RunnerUp = 1.01)
{
    /// <summary>1 - P(safe) from which the runner-up rule (<see cref="RunnerUp"/>) applies.</summary>
    public const double RunnerUpMinimumRisk = 0.5;
}
