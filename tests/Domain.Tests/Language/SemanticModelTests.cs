using FeedbackHub.Domain.Language;
using FeedbackHub.Language.Semantic;
using Xunit.Abstractions;

namespace FeedbackHub.Domain.Tests.Language;

/// <summary>The shipped model (loaded once per test run: <see cref="SentenceClassifier.Shared"/> is process-wide).</summary>
public sealed class SemanticModelTests(ITestOutputHelper output)
{
    // Floors: what the shipped model measured (docs/language-checker.md, "Measured quality") minus a small margin.
    // Tenth round: 2026-12-05 holdout (799 items) F1 0.954, precision 0.973; 2026-12 holdout (800 items) F1 0.951,
    // precision 0.977. Rules' holdout (144 items): F1 0.988, precision 0.976.
    private const double HoldoutF1Floor = 0.93;
    private const double HoldoutPrecisionFloor = 0.95;
    private const double OldHoldoutF1Floor = 0.95;
    private const double OldHoldoutPrecisionFloor = 0.95;

    private static readonly LanguageChecker Rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US"));
    private static readonly FullLanguageChecker Full = FullLanguageChecker.Create(Rules, SentenceClassifier.Shared, Environment.ProcessorCount);

    [Fact]
    public void The_committed_model_was_trained_on_the_committed_data_and_catalog()
    {
        var root = DecisionPolicyTests.RepositoryRoot();
        var files = Directory.GetFiles(Path.Combine(root, "data", "language", "train"), "*.jsonl")
            .Append(Path.Combine(root, "tests", "Domain.Tests", "Language", "corpus.jsonl"))
            .Concat(Directory.GetFiles(Path.Combine(root, "data", "language", "validation"), "*.jsonl")); // thresholds are chosen on it
        var model = SemanticModel.Default;
        Assert.Equal(RuleCatalog.Default.Version, model.Document.CatalogVersion);
        Assert.True(
            SemanticModel.TrainingDataSha256(files) == model.Document.TrainingDataSha256,
            "The training data, corpus or validation set changed since the model was trained: run `dotnet run --project tools/LanguageTraining -c Release -- train` and commit the model.");
        Assert.Equal([SemanticModel.SafeClass, .. RuleCatalog.Default.Categories], model.Classes);
        Assert.Equal(SentenceEmbedder.ModelName, model.Document.Embedding);
    }

    [Fact]
    public void The_shipped_model_drops_a_protected_characteristic_only_on_strong_evidence_and_downgrades_only_when_confident()
    {
        var thresholds = SemanticModel.Default.Thresholds;
        Assert.True(thresholds.DropProtected >= 0.95, "protected characteristics need strong evidence to be dropped");
        Assert.True(thresholds.Downgrade >= 0.9);
        Assert.Equal(RuleCatalog.Default.Categories.Order(), thresholds.Category.Keys.Order());
    }

    [Fact]
    public void The_sparse_first_layer_gives_the_probabilities_of_the_dense_features()
    {
        var model = SemanticModel.Default;
        var sentences = model.Document.Examples.Texts.Where((_, i) => i % 97 == 0).Append("No lexical term at all: zxqv.").ToList();
        var embeddings = SentenceClassifier.Shared.Embedder.Embed(sentences, 1);
        var rules = new float[model.Classes.Count - 1];
        for (var i = 0; i < sentences.Count; i++)
        {
            rules.AsSpan().Clear();
            rules[i % rules.Length] = i % 3 == 0 ? 1 : 0;
            var sparse = model.PredictNetwork(sentences[i], embeddings[i], rules);
            var dense = model.PredictNetworkDense(model.Features(sentences[i], embeddings[i], rules));
            Assert.Equal(dense.Length, sparse.Length);
            for (var c = 0; c < dense.Length; c++)
            {
                Assert.True(Math.Abs(dense[c] - sparse[c]) < 1e-5, $"{sentences[i]}: class {model.Classes[c]} {dense[c]} vs {sparse[c]}");
            }
        }

        Assert.True(sentences.Count > 40);
    }

    [Fact]
    public void Cached_scores_are_those_of_the_same_text_and_rule_categories_computed_afresh()
    {
        var model = SemanticModel.Default;
        var text = $"At his age he would not keep up with the team ({Guid.NewGuid():N}).";
        var age = new HashSet<string>(["age"], StringComparer.Ordinal);
        var inputs = new SentenceInput[] { new(text, age), new(text, new HashSet<string>(StringComparer.Ordinal)), new(text, age) };
        var first = SentenceClassifier.Shared.Classify(inputs, 1);
        var again = SentenceClassifier.Shared.Classify(inputs, 1);
        var embedding = SentenceEmbedder.Shared.Embed([text])[0];
        var rules = new float[model.Classes.Count - 1];
        rules[model.ClassIndex("age") - 1] = 1;
        var withAge = model.Predict(text, embedding, rules);
        var without = model.Predict(text, embedding, new float[rules.Length]);
        foreach (var scores in first.Concat(again))
            Assert.Same(embedding, scores.Embedding);
        for (var c = 0; c < model.Classes.Count; c++)
        {
            var label = model.Classes[c];
            Assert.Equal(withAge[c], first[0][label], 5);
            Assert.Equal(without[c], first[1][label], 5);
            Assert.Equal(first[0][label], first[2][label]);
            Assert.Equal(first[1][label], again[1][label]);
        }

        Assert.Same(first[0], again[0]); // from the cache
        Assert.NotEqual(first[0]["age"], first[1]["age"]); // the rule features are part of the key
    }

    [Fact]
    public void The_neighbour_vote_is_a_distribution_led_by_the_labels_of_the_nearest_examples()
    {
        var model = SemanticModel.Default;
        var examples = model.Document.Examples;
        var label = model.ClassIndex("insults-character");
        var text = examples.Texts[examples.Labels.ToList().IndexOf(label)];
        var vote = model.NeighbourVote(SentenceEmbedder.Shared.Embed([text])[0]);
        Assert.Equal(1, vote.Sum(), 3);
        // The example itself is among its neighbours (similarity about 1 of at most Neighbours votes); a uniform vote is 1/17.
        Assert.True(vote[label] >= 1.0 / model.Document.Neighbours - 0.01, $"vote for its own label: {vote[label]:F3}");
    }

    [Fact]
    public void A_template_sentence_with_a_merge_field_keeps_its_rule_finding()
    {
        var finding = Assert.Single(Full.Check("For {{position.title}} we wanted a digital native, and these counted most:"));
        Assert.Equal("age", finding.Category);
        Assert.Equal(Severity.Block, finding.Severity);
    }

    [Theory]
    [InlineData("Her English was broken.", "race-ethnicity-origin")]
    [InlineData("Honestly too 0ld for us.", "age")]
    [InlineData("We want someone young and hungry.", "age")]
    [InlineData("Not someone I'd grab a beer with.", "culture-fit-vague")]
    public void Wording_no_rule_names_is_found_by_the_full_engine_and_not_by_the_rules(string text, string category)
    {
        Assert.Empty(Rules.Check(text));
        var findings = Full.Check(text);
        var finding = Assert.Single(findings, f => f.Category == category);
        Assert.StartsWith(FullLanguageChecker.ModelRulePrefix, finding.RuleId, StringComparison.Ordinal);
        Assert.NotNull(finding.Example);
        Assert.Equal(category, finding.Example.Category);
        Assert.InRange(finding.Confidence!.Value, 0, 1);
        output.WriteLine($"{text} -> {finding.RuleId} {finding.Confidence:F2}, like \"{finding.Example.Text}\"");
    }

    [Theory]
    [InlineData("He disabled the cache and the tests passed.")]
    [InlineData("She wrote the report query with UNION ALL and explained the plan clearly.")]
    [InlineData("Led the migration of the payroll service to the new benefits platform.")]
    [InlineData("He asked good questions about the on-call rota and the release process.")]
    [InlineData("Her system design answer covered caching, sharding and failure modes.")]
    public void Job_related_wording_is_left_alone(string text)
    {
        Assert.Empty(Full.Check(text));
    }

    [Fact]
    public void Findings_of_the_full_engine_point_into_the_original_text()
    {
        const string text = "Great SQL, e.g. window functions.\n- her English was broken\n• at his age, hard to say";
        var findings = Full.Check(text);
        Assert.NotEmpty(findings);
        Assert.All(findings, f => Assert.Equal(f.Match, text.Substring(f.Start, f.Length)));
        Assert.Equal(findings.OrderBy(f => f.Start), findings);
    }

    [Fact]
    public void Holdouts_are_reported_and_stay_above_their_floors()
    {
        foreach (var (file, floor, precisionFloor) in new[] { ("holdout3-2026-12-05.jsonl", HoldoutF1Floor, HoldoutPrecisionFloor), ("holdout-2026-12.jsonl", HoldoutF1Floor, HoldoutPrecisionFloor), ("holdout.jsonl", OldHoldoutF1Floor, OldHoldoutPrecisionFloor) })
        {
            var items = CorpusItem.Load(file);
            var rules = CorpusScore.Compute(items, Rules);
            var full = CorpusScore.Compute(items, Full.CheckMany([.. items.Select(i => i.Text)]));
            output.WriteLine($"{file}: {items.Count} items; rules F1 {rules.Overall.F1:F3}, full F1 {full.Overall.F1:F3}");
            output.WriteLine(full.ToMarkdown());
            Assert.True(full.Overall.F1 >= floor, $"{file}: full F1 {full.Overall.F1:F3} < {floor}");
            Assert.True(full.Overall.Precision >= precisionFloor, $"{file}: full precision {full.Overall.Precision:F3} < {precisionFloor}");
            Assert.True(full.Overall.F1 > rules.Overall.F1, $"{file}: the full engine is no better than the rules");
        }
    }
}
