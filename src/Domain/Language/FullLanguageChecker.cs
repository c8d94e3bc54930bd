using System.Globalization;

namespace FeedbackHub.Domain.Language;

/// <summary>A compiled checker of one engine for one rule set: <see cref="LanguageChecker"/> or <see cref="FullLanguageChecker"/>.</summary>
public interface ITextChecker
{
    /// <summary>The rule set it checks with.</summary>
    RuleSet RuleSet { get; }

    /// <summary>Which engine it is.</summary>
    LanguageEngine Engine { get; }

    /// <summary>The first <paramref name="maxFindings"/> findings, in text order; <paramref name="truncated"/> tells there are more.</summary>
    IReadOnlyList<Finding> Check(string text, int maxFindings, out bool truncated);
}

/// <summary>
/// The full engine: the rules (<see cref="LanguageChecker"/>) and the sentence model (<see cref="ISentenceClassifier"/>)
/// combined by one decision policy, per sentence (see docs/language-checker.md, "Decision policy"):
/// <list type="number">
/// <item>A rule finding stays, unless the model reads its sentence as job-related: from P(safe) &gt;= <c>downgrade</c> a
/// <c>block</c> becomes a <c>warn</c> (explained by the nearest safe training sentence); from P(safe) &gt;= <c>drop</c> it is dropped,
/// and for a protected characteristic only from the stricter <c>dropProtected</c>. Tenant terms are never changed.</item>
/// <item>A category of the pack with no rule finding in the sentence gets a model finding on the whole sentence when the model's
/// probability reaches that category's threshold, with the pack's severity, the category's reason and suggestion, the
/// confidence and the nearest labelled example.</item>
/// <item>Tenant allow-phrases and disabled rules win: no model finding on a sentence that contains an allowed phrase, nor in the
/// category of a disabled rule that matched in the sentence; a category whose rules the tenant all disabled is not checked.</item>
/// </list>
/// Immutable and thread-safe. The sentence model is given (Domain holds only its interface; the shipped one is in
/// <c>FeedbackHub.Language.Semantic</c> and loads on its first use).
/// </summary>
public sealed class FullLanguageChecker : ITextChecker
{
    /// <summary>Rule id prefix of model findings (<c>model.age</c>).</summary>
    public const string ModelRulePrefix = "model.";

    /// <summary>
    /// The model reads a sentence of fewer words ("Lazy.", "Notes:") together with the next one
    /// (<see cref="SentenceSegmenter.ModelUnits"/>), and takes no decision on a whole text that short ("Questions?"): its
    /// probabilities there mean little. The rules still check such fragments.
    /// </summary>
    public const int MinWords = 3;

    private readonly ISentenceClassifier _classifier;
    private readonly Dictionary<string, CategoryInForce> _categories;

    private FullLanguageChecker(LanguageChecker rules, ISentenceClassifier classifier, int maxParallelism)
    {
        Rules = rules;
        _classifier = classifier;
        _categories = rules.RuleSet.Categories.ToDictionary(c => c.Id, StringComparer.Ordinal);
        MaxParallelism = maxParallelism;
    }

    /// <summary>The rule stage.</summary>
    public LanguageChecker Rules { get; }

    /// <inheritdoc/>
    public RuleSet RuleSet => Rules.RuleSet;

    /// <inheritdoc/>
    public LanguageEngine Engine => LanguageEngine.Full;

    /// <summary>Cores one check may use for the model.</summary>
    public int MaxParallelism { get; }

    /// <summary>Builds the full engine over a compiled rule checker.</summary>
    /// <param name="rules">The rule stage.</param>
    /// <param name="classifier">The sentence model (the shipped one: <c>FeedbackHub.Language.Semantic.SentenceClassifier.Shared</c>).</param>
    /// <param name="maxParallelism">Cores one check may use for the model.</param>
    public static FullLanguageChecker Create(LanguageChecker rules, ISentenceClassifier classifier, int maxParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(classifier);
        return new FullLanguageChecker(rules, classifier, Math.Max(1, maxParallelism));
    }

    /// <summary>All findings, in text order.</summary>
    public IReadOnlyList<Finding> Check(string text) => Check(text, int.MaxValue, out _);

    /// <inheritdoc/>
    public IReadOnlyList<Finding> Check(string text, int maxFindings, out bool truncated)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFindings);
        var findings = CheckMany([text])[0];
        truncated = findings.Count > maxFindings;
        return truncated ? [.. findings.Take(maxFindings)] : findings;
    }

    /// <summary>Checks several texts, embedding all their sentences together (batched, and side by side on up to
    /// <see cref="MaxParallelism"/> cores): the fast way to check many texts.</summary>
    public IReadOnlyList<IReadOnlyList<Finding>> CheckMany(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var work = new List<(string Text, List<Finding> Findings, RuleSuppressions Suppressions, IReadOnlyList<Sentence> Sentences, int First)>(texts.Count);
        var inputs = new List<SentenceInput>();
        foreach (var text in texts)
        {
            ArgumentNullException.ThrowIfNull(text);
            var suppressions = new RuleSuppressions();
            var findings = Rules.Check(text, int.MaxValue, out _, suppressions).ToList();
            var sentences = SentenceSegmenter.ModelUnits(text, MinWords);
            work.Add((text, findings, suppressions, sentences, inputs.Count));
            foreach (var sentence in sentences)
            {
                // The model reads which catalog rules matched (tenant terms are the tenant's, not what it was trained on).
                var categories = findings.Concat(suppressions.DisabledRuleHits)
                    .Where(f => !IsTenantTerm(f) && Inside(f, sentence))
                    .Select(f => f.Category)
                    .ToHashSet(StringComparer.Ordinal);
                inputs.Add(new SentenceInput(sentence.Text, categories));
            }
        }

        if (inputs.Count == 0)
        {
            return [.. work.Select(w => (IReadOnlyList<Finding>)w.Findings)];
        }

        var classifier = _classifier;
        var scores = classifier.Classify(inputs, MaxParallelism);
        return [.. work.Select(w => Decide(classifier, w.Findings, w.Suppressions, w.Sentences, scores, w.First))];
    }

    private List<Finding> Decide(
        ISentenceClassifier classifier, List<Finding> ruleFindings, RuleSuppressions suppressions, IReadOnlyList<Sentence> sentences,
        IReadOnlyList<SentenceScores> scores, int first)
    {
        var thresholds = classifier.Thresholds;
        var result = new List<Finding>(ruleFindings.Count);

        // 1. Rule findings: kept, downgraded or dropped by what the model says about their sentence.
        foreach (var finding in ruleFindings)
        {
            var at = SentenceOf(sentences, finding);
            if (at < 0 || IsTenantTerm(finding))
            {
                result.Add(finding);
                continue;
            }

            if (SentenceSegmenter.Words(sentences[at].Text) < MinWords)
            {
                result.Add(finding);
                continue;
            }

            var sentenceScores = scores[first + at];
            var safe = sentenceScores.Safe;
            var isProtected = !_categories.TryGetValue(finding.Category, out var category) || category.Protected;
            if (safe >= (isProtected ? thresholds.DropProtected : thresholds.Drop))
            {
                continue;
            }

            if (safe >= thresholds.Downgrade && finding.Severity == Severity.Block)
            {
                result.Add(finding with
                {
                    Severity = Severity.Warn,
                    Reason = string.Create(CultureInfo.InvariantCulture,
                        $"{finding.Reason} The sentence model reads this sentence as job-related (confidence {safe:F2}), so it is a warning to review rather than a block."),
                    Confidence = Math.Round(sentenceScores[finding.Category], 3),
                    Example = classifier.Nearest(sentenceScores, SentenceScores.SafeClass),
                });
                continue;
            }

            result.Add(finding);
        }

        // 2. Model findings: a confident category with no rule finding in the sentence, unless the tenant's choices say otherwise.
        for (var i = 0; i < sentences.Count; i++)
        {
            var sentence = sentences[i];
            if (SentenceSegmenter.Words(sentence.Text) < MinWords || suppressions.AllowedSpans.Any(a => a.Start < sentence.Start + sentence.Length && sentence.Start < a.Start + a.Length))
            {
                continue;
            }

            var sentenceScores = scores[first + i];
            var found = false;
            CategoryInForce? likeliest = null;
            foreach (var category in RuleSet.Categories)
            {
                var probability = sentenceScores[category.Id];
                likeliest = likeliest is null || probability > sentenceScores[likeliest.Id] ? category : likeliest;
                if (!thresholds.Category.TryGetValue(category.Id, out var threshold) || probability < threshold || !Open(category, sentence))
                {
                    continue;
                }

                result.Add(ModelFinding(classifier, category, sentence, sentenceScores));
                found = true;
            }

            // Risk spread over neighbouring categories (insult or culture fit?): the likeliest one in force, if the
            // sentence as a whole is confidently not safe.
            if (!found && likeliest is not null && 1 - sentenceScores.Safe >= thresholds.Risk && Open(likeliest, sentence))
            {
                result.Add(ModelFinding(classifier, likeliest, sentence, sentenceScores));
            }

            // Risk between two near categories: a sentence that already has a finding (rule or model) and that the model
            // reads as risky also gets its two likeliest categories when each is close to the likeliest (a finding in a
            // near category still tells the author the sentence is risky, with that category's reason).
            if (thresholds.RunnerUp <= 1 && 1 - sentenceScores.Safe >= SemanticThresholds.RunnerUpMinimumRisk
                && result.Any(f => Inside(f, sentence)))
            {
                var top = RuleSet.Categories.OrderByDescending(c => sentenceScores[c.Id]).ThenBy(c => c.Id, StringComparer.Ordinal).Take(2).ToList();
                var best = top.Count > 0 ? sentenceScores[top[0].Id] : 0;
                foreach (var category in top)
                {
                    if (sentenceScores[category.Id] >= thresholds.RunnerUp * best && Open(category, sentence)
                        && !result.Any(f => f.Category == category.Id && Inside(f, sentence)))
                    {
                        result.Add(ModelFinding(classifier, category, sentence, sentenceScores));
                    }
                }
            }
        }

        bool Open(CategoryInForce category, Sentence sentence) =>
            !ruleFindings.Any(f => f.Category == category.Id && Inside(f, sentence))
            && !suppressions.DisabledRuleHits.Any(f => f.Category == category.Id && Inside(f, sentence));

        result.Sort(static (a, b) =>
            a.Start != b.Start ? a.Start.CompareTo(b.Start)
            : a.Length != b.Length ? b.Length.CompareTo(a.Length)
            : string.CompareOrdinal(a.RuleId, b.RuleId));
        return result;
    }

    private static Finding ModelFinding(ISentenceClassifier classifier, CategoryInForce category, Sentence sentence, SentenceScores scores) =>
        new(ModelRulePrefix + category.Id, category.Id, category.Severity, sentence.Start, sentence.Length, sentence.Text,
            category.Reason, category.Suggestion)
        {
            Confidence = Math.Round(scores[category.Id], 3),
            Example = classifier.Nearest(scores, category.Id),
        };

    private bool IsTenantTerm(Finding finding) => !RuleSet.Catalog.RuleIds.Contains(finding.RuleId);

    private static bool Inside(Finding finding, Sentence sentence) =>
        finding.Start < sentence.Start + sentence.Length && sentence.Start < finding.Start + finding.Length;

    private static int SentenceOf(IReadOnlyList<Sentence> sentences, Finding finding)
    {
        for (var i = 0; i < sentences.Count; i++)
        {
            if (Inside(finding, sentences[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
