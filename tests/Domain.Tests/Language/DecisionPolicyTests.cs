using System.Text.Json.Nodes;
using FeedbackHub.Domain.Language;

namespace FeedbackHub.Domain.Tests.Language;

/// <summary>
/// The decision policy of <see cref="FullLanguageChecker"/>, with a scripted classifier (no model): each rule of the
/// policy on its own. The shipped model is tested in <see cref="SemanticModelTests"/>.
/// </summary>
public sealed class DecisionPolicyTests
{
    private static readonly SemanticThresholds Thresholds = new(
        RuleCatalog.Default.Categories.ToDictionary(c => c, _ => 0.6), Downgrade: 0.5, Drop: 0.8, DropProtected: 0.95);

    /// <summary>Scores each sentence as the script says (by a word it contains); anything else is safe with P = 1.</summary>
    private sealed class ScriptedClassifier(params (string Contains, string Label, double Probability)[] script) : ISentenceClassifier
    {
        public SemanticThresholds Thresholds { get; init; } = DecisionPolicyTests.Thresholds;

        public List<SentenceInput> Seen { get; } = [];

        public IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism)
        {
            Seen.AddRange(sentences);
            var classes = new[] { SentenceScores.SafeClass }.Concat(RuleCatalog.Default.Categories).ToList();
            return [.. sentences.Select(s =>
            {
                var p = new float[classes.Count];
                var line = script.FirstOrDefault(x => s.Text.Contains(x.Contains, StringComparison.OrdinalIgnoreCase));
                if (line.Label is null)
                {
                    p[0] = 1;
                }
                else
                {
                    p[classes.IndexOf(line.Label)] = (float)line.Probability;
                    p[line.Label == SentenceScores.SafeClass ? 1 : 0] = 1 - (float)line.Probability;
                }

                return new SentenceScores(classes, p, null);
            })];
        }

        public LabelledExample? Nearest(SentenceScores scores, string label) => new($"nearest {label}", label == SentenceScores.SafeClass ? null : label, 0.9);
    }

    private static FullLanguageChecker Full(ISentenceClassifier classifier, string jurisdiction = "US", TenantRuleChanges? changes = null) =>
        FullLanguageChecker.Create(LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction(jurisdiction).With(changes ?? TenantRuleChanges.None)), classifier);

    [Fact]
    public void A_confident_model_hit_with_no_rule_becomes_a_finding_on_the_sentence_with_the_packs_severity_and_an_example()
    {
        const string text = "Strong SQL all round. Her English was broken.";
        var finding = Assert.Single(Full(new ScriptedClassifier(("broken", "race-ethnicity-origin", 0.9))).Check(text));

        Assert.Equal("model.race-ethnicity-origin", finding.RuleId);
        Assert.Equal("race-ethnicity-origin", finding.Category);
        Assert.Equal(Severity.Block, finding.Severity);
        Assert.Equal("Her English was broken.", finding.Match);
        Assert.Equal(finding.Match, text.Substring(finding.Start, finding.Length));
        Assert.Equal(0.9, finding.Confidence!.Value, 3);
        Assert.Equal("nearest race-ethnicity-origin", finding.Example!.Text);
        var category = RuleCatalog.Default.ForJurisdiction("US").Categories.Single(c => c.Id == "race-ethnicity-origin");
        Assert.Equal(category.Reason, finding.Reason);
        Assert.Equal(category.Suggestion, finding.Suggestion);
    }

    [Fact]
    public void A_model_hit_below_the_categorys_threshold_is_no_finding()
    {
        Assert.Empty(Full(new ScriptedClassifier(("broken", "race-ethnicity-origin", 0.55))).Check("Her English was broken."));
    }

    [Fact]
    public void The_severity_of_a_model_finding_is_the_jurisdiction_packs()
    {
        var classifier = new ScriptedClassifier(("partner", "marital-status", 0.9));
        Assert.Equal(Severity.Warn, Assert.Single(Full(classifier, "US").Check("Lives with a partner.")).Severity);
        Assert.Equal(Severity.Block, Assert.Single(Full(classifier, "UK").Check("Lives with a partner.")).Severity);
    }

    [Fact]
    public void A_category_a_pack_excludes_gets_no_model_finding()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "Domain", "Language", "Catalog", "rules.json")))!;
        json["jurisdictions"]!.AsArray().Single(j => (string?)j!["code"] == "DE")!["exclude"] = new JsonArray("appearance");
        var catalog = RuleCatalog.Parse(json.ToJsonString());
        var classifier = new ScriptedClassifier(("scruffy", "appearance", 0.99));

        Assert.Single(FullLanguageChecker.Create(LanguageChecker.Create(catalog.ForJurisdiction("US")), classifier).Check("A bit scruffy."));
        Assert.Empty(FullLanguageChecker.Create(LanguageChecker.Create(catalog.ForJurisdiction("DE")), classifier).Check("A bit scruffy."));
    }

    [Fact]
    public void A_rule_finding_the_model_reads_as_job_related_is_downgraded_to_a_warning_with_the_nearest_safe_example()
    {
        // age.at-his-age is a block rule; P(safe) 0.7 is above downgrade (0.5) and below dropProtected (0.95).
        var finding = Assert.Single(Full(new ScriptedClassifier(("age", SentenceScores.SafeClass, 0.7))).Check("At his age he may not learn."));
        Assert.Equal("age.at-his-age", finding.RuleId);
        Assert.Equal(Severity.Warn, finding.Severity);
        Assert.Contains("job-related", finding.Reason, StringComparison.Ordinal);
        Assert.Equal("nearest safe", finding.Example!.Text);
        Assert.Null(finding.Example.Category);
    }

    [Fact]
    public void A_rule_finding_is_kept_unchanged_when_the_model_does_not_read_it_as_job_related()
    {
        var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US")).Check("At his age he may not learn.");
        var full = Full(new ScriptedClassifier(("age", "age", 0.7))).Check("At his age he may not learn.");
        Assert.Equal(rules, full);
    }

    [Fact]
    public void Strong_evidence_drops_a_rule_finding_and_protected_characteristics_need_stronger_evidence()
    {
        // culture-fit-vague is not protected: dropped from P(safe) 0.8; age is: kept (as a warning) until 0.95.
        Assert.Empty(Full(new ScriptedClassifier(("culture", SentenceScores.SafeClass, 0.85))).Check("Not a culture fit."));
        var age = Assert.Single(Full(new ScriptedClassifier(("age", SentenceScores.SafeClass, 0.85))).Check("At his age he may not learn."));
        Assert.Equal(Severity.Warn, age.Severity);
        Assert.Empty(Full(new ScriptedClassifier(("age", SentenceScores.SafeClass, 0.97))).Check("At his age he may not learn."));
    }

    [Fact]
    public void A_tenant_term_is_never_downgraded_or_dropped()
    {
        var changes = new TenantRuleChanges(
            [new CustomTerm("tenant.comparison.falcon", "comparison", "Project Falcon", Severity.Block, "Codename.", "Drop it.")], [], []);
        var finding = Assert.Single(Full(new ScriptedClassifier(("falcon", SentenceScores.SafeClass, 0.99)), changes: changes).Check("Worked on Project Falcon."));
        Assert.Equal(Severity.Block, finding.Severity);
    }

    [Fact]
    public void An_allowed_phrase_wins_over_a_model_hit_in_its_sentence()
    {
        var classifier = new ScriptedClassifier(("native", "race-ethnicity-origin", 0.9));
        Assert.Single(Full(classifier).Check("A native of the place."));
        var changes = new TenantRuleChanges([], ["native of the place"], []);
        Assert.Empty(Full(classifier, changes: changes).Check("A native of the place."));
    }

    [Fact]
    public void A_disabled_rule_wins_over_a_model_hit_of_its_category_in_its_sentence()
    {
        const string text = "Not a culture fit.";
        var classifier = new ScriptedClassifier(("culture", "culture-fit-vague", 0.9));
        var changes = new TenantRuleChanges([], [], ["culture-fit-vague.culture-fit"]);
        Assert.Equal("culture-fit-vague.culture-fit", Assert.Single(Full(classifier).Check(text)).RuleId);
        Assert.Empty(Full(classifier, changes: changes).Check(text));
    }

    [Fact]
    public void A_category_whose_rules_the_tenant_all_disabled_is_not_checked_by_the_model()
    {
        var ids = RuleCatalog.Default.ForJurisdiction("US").Rules.Where(r => r.Category == "comparison").Select(r => r.Id).ToList();
        var classifier = new ScriptedClassifier(("others", "comparison", 0.9));
        Assert.Single(Full(classifier).Check("Weaker than the others we saw."));
        Assert.Empty(Full(classifier, changes: new TenantRuleChanges([], [], ids)).Check("Weaker than the others we saw."));
    }

    [Fact]
    public void A_sentence_of_fewer_than_three_words_gets_no_model_decision()
    {
        Assert.Empty(Full(new ScriptedClassifier(("questions", "sexual-orientation-gender-identity", 0.99))).Check("Questions?"));
        var rule = Assert.Single(Full(new ScriptedClassifier(("old", SentenceScores.SafeClass, 0.99))).Check("Too old."));
        Assert.Equal(Severity.Block, rule.Severity);
        Assert.Null(rule.Confidence);
    }

    [Fact]
    public void The_model_reads_which_rule_categories_matched_in_each_sentence()
    {
        var classifier = new ScriptedClassifier();
        Full(classifier).Check("Great SQL and tests. At his age he may not learn.\n- tests first, always");
        Assert.Equal(["Great SQL and tests.", "At his age he may not learn.", "tests first, always"], classifier.Seen.Select(s => s.Text));
        Assert.Equal([[], ["age"], []], classifier.Seen.Select(s => s.RuleCategories.ToArray()));
    }

    [Fact]
    public void A_fragment_is_read_with_the_next_sentence_and_a_model_finding_spans_both()
    {
        const string text = "Good SQL overall. Lazy. No hire from me.";
        var finding = Assert.Single(Full(new ScriptedClassifier(("lazy", "insults-character", 0.99))).Check(text));
        Assert.Equal("Lazy. No hire from me.", finding.Match);
        Assert.Equal(text.IndexOf("Lazy", StringComparison.Ordinal), finding.Start);
    }

    /// <summary>The same probabilities for every sentence.</summary>
    private sealed class FixedClassifier(SemanticThresholds thresholds, params (string Label, double Probability)[] scores) : ISentenceClassifier
    {
        public SemanticThresholds Thresholds => thresholds;

        public IReadOnlyList<SentenceScores> Classify(IReadOnlyList<SentenceInput> sentences, int maxParallelism)
        {
            var classes = new[] { SentenceScores.SafeClass }.Concat(RuleCatalog.Default.Categories).ToList();
            var p = new float[classes.Count];
            foreach (var (label, probability) in scores)
            {
                p[classes.IndexOf(label)] = (float)probability;
            }

            return [.. sentences.Select(_ => new SentenceScores(classes, p, null))];
        }

        public LabelledExample? Nearest(SentenceScores scores, string label) => new($"nearest {label}", label, 0.9);
    }

    [Theory]
    [InlineData(0.7, new[] { "model.sex-gender", "model.sexual-orientation-gender-identity" })]
    [InlineData(0.9, new[] { "model.sexual-orientation-gender-identity" })] // 0.3 is not 0.9 of 0.45
    [InlineData(1.01, new[] { "model.sexual-orientation-gender-identity" })] // off
    public void A_risky_sentence_between_two_near_categories_also_gets_the_runner_up_when_it_is_close_enough(double runnerUp, string[] expected)
    {
        var thresholds = Thresholds with { RunnerUp = runnerUp, Category = RuleCatalog.Default.Categories.ToDictionary(c => c, _ => 0.4) };
        var classifier = new FixedClassifier(thresholds, ("safe", 0.2), ("sexual-orientation-gender-identity", 0.45), ("sex-gender", 0.33), ("appearance", 0.02));

        var findings = Full(classifier).Check("Not sure the team would be comfortable with that.");

        Assert.Equal(expected.Order(StringComparer.Ordinal), findings.Select(f => f.RuleId).Order(StringComparer.Ordinal));
        Assert.All(findings, f => Assert.Equal("Not sure the team would be comfortable with that.", f.Match));
    }

    [Fact]
    public void The_runner_up_needs_a_finding_in_the_sentence_and_a_sentence_the_model_reads_as_risky()
    {
        var high = RuleCatalog.Default.Categories.ToDictionary(c => c, _ => 0.9);
        // Nothing reaches its threshold: no finding, so no runner-up either.
        var none = new FixedClassifier(Thresholds with { RunnerUp = 0.5, Category = high }, ("safe", 0.2), ("insults-character", 0.45), ("culture-fit-vague", 0.35));
        Assert.Empty(Full(none).Check("Not someone I would pick for anything at all."));

        // A rule finding in a sentence the model reads as mostly job-related: no runner-up.
        var safe = new FixedClassifier(Thresholds with { RunnerUp = 0.5, Category = high, Downgrade = 1.01, Drop = 1.01, DropProtected = 1.01 },
            ("safe", 0.6), ("insults-character", 0.2), ("culture-fit-vague", 0.2));
        var rules = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US")).Check("She is pregnant and starts in May.");
        Assert.Equal(rules.Select(f => f.RuleId), Full(safe).Check("She is pregnant and starts in May.").Select(f => f.RuleId));

        // The same rule finding in a sentence the model reads as risky: its two likeliest categories join it.
        var risky = new FixedClassifier(Thresholds with { RunnerUp = 0.5, Category = high }, ("safe", 0.2), ("insults-character", 0.4), ("culture-fit-vague", 0.3));
        var findings = Full(risky).Check("She is pregnant and starts in May.");
        Assert.Contains(findings, f => f.RuleId == "model.insults-character");
        Assert.Contains(findings, f => f.RuleId == "model.culture-fit-vague");
        Assert.Contains(findings, f => f.Category == "pregnancy-family" && !f.RuleId.StartsWith("model.", StringComparison.Ordinal));
    }

    internal static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "FeedbackHub.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("Repository root not found.");
    }
}
