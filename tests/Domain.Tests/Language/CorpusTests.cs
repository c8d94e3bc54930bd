using System.Globalization;
using System.Text;
using FeedbackHub.Domain.Language;
using Xunit.Abstractions;

namespace FeedbackHub.Domain.Tests.Language;

/// <summary>
/// Measures the checker against the labeled corpus (tests/Domain.Tests/Language/corpus.jsonl) with the US pack.
/// An item is predicted risky when it has any finding. A risky item counts as a true positive only when a finding
/// of its expected category is present; a risky item flagged only in other categories counts against both
/// precision and recall. Per category, false positives are safe items with a finding in that category (the corpus
/// carries one label per item, so a risky item that also touches a second category is not held against it).
/// </summary>
public sealed class CorpusTests(ITestOutputHelper output)
{
    /// <summary>Overall precision and recall must each reach this.</summary>
    public const double OverallThreshold = 0.9;

    /// <summary>Every category's precision and recall must each reach this.</summary>
    public const double CategoryThreshold = 0.8;

    private static readonly LanguageChecker Checker = LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US"));

    [Fact]
    public void Corpus_is_large_and_covers_every_category()
    {
        var items = CorpusItem.Load();
        Assert.True(items.Count >= 520, $"corpus has {items.Count} items");
        Assert.Equal(items.Count, items.Select(i => i.Id).Distinct().Count());
        foreach (var category in RuleCatalog.Default.Categories)
        {
            Assert.True(items.Count(i => i.Risky && i.Category == category) >= 15, $"{category}: fewer than 15 risky items");
            Assert.True(items.Count(i => i.Kind == "hard-safe" && i.Topic == category) >= 15, $"{category}: fewer than 15 hard-safe items");
        }

        Assert.All(items.Where(i => i.Risky), i => Assert.Contains(i.Category, RuleCatalog.Default.Categories));
        Assert.All(items.Where(i => !i.Risky), i => Assert.Null(i.Category));
    }

    [Fact]
    public void Precision_and_recall_meet_the_thresholds()
    {
        var report = CorpusScore.Compute(CorpusItem.Load(), Checker);
        output.WriteLine(report.ToMarkdown());
        foreach (var miss in report.Misses)
        {
            output.WriteLine(miss);
        }

        Assert.True(report.Overall.Precision >= OverallThreshold, $"overall precision {report.Overall.Precision:F3} < {OverallThreshold}");
        Assert.True(report.Overall.Recall >= OverallThreshold, $"overall recall {report.Overall.Recall:F3} < {OverallThreshold}");
        foreach (var (category, score) in report.Categories)
        {
            Assert.True(score.Precision >= CategoryThreshold, $"{category} precision {score.Precision:F3} < {CategoryThreshold}");
            Assert.True(score.Recall >= CategoryThreshold, $"{category} recall {score.Recall:F3} < {CategoryThreshold}");
        }
    }

    /// <summary>
    /// holdout.jsonl was written after the rules and is never used to tune them, so it estimates how the checker
    /// does on wording its author did not anticipate. It is reported, with only a low regression floor.
    /// </summary>
    [Fact]
    public void Holdout_set_is_reported_and_stays_above_its_floor()
    {
        var report = CorpusScore.Compute(CorpusItem.Load("holdout.jsonl"), Checker);
        output.WriteLine(report.ToMarkdown());
        foreach (var miss in report.Misses)
        {
            output.WriteLine(miss);
        }

        Assert.True(report.Overall.Precision >= HoldoutFloor, $"holdout precision {report.Overall.Precision:F3} < {HoldoutFloor}");
        Assert.True(report.Overall.Recall >= HoldoutFloor, $"holdout recall {report.Overall.Recall:F3} < {HoldoutFloor}");
    }

    /// <summary>Regression floor for the holdout set (overall precision and recall).</summary>
    public const double HoldoutFloor = 0.5;
}

/// <summary>Precision/recall counts.</summary>
public sealed record Score(int TruePositives, int FalsePositives, int FalseNegatives)
{
    public double Precision => TruePositives + FalsePositives == 0 ? 1 : (double)TruePositives / (TruePositives + FalsePositives);

    public double Recall => TruePositives + FalseNegatives == 0 ? 1 : (double)TruePositives / (TruePositives + FalseNegatives);

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
}

/// <summary>Scores a checker on the corpus.</summary>
public sealed record CorpusScore(Score Overall, IReadOnlyList<(string Category, Score Score)> Categories, IReadOnlyList<string> Misses)
{
    public static CorpusScore Compute(IReadOnlyList<CorpusItem> items, LanguageChecker checker) =>
        Compute(items, [.. items.Select(i => checker.Check(i.Text))]);

    /// <summary>Scores precomputed findings (one list per item, in item order).</summary>
    public static CorpusScore Compute(IReadOnlyList<CorpusItem> items, IReadOnlyList<IReadOnlyList<Finding>> results)
    {
        int tp = 0, fp = 0, fn = 0;
        var misses = new List<string>();
        var perCategory = RuleCatalog.Default.Categories.ToDictionary(c => c, _ => new int[3], StringComparer.Ordinal);
        for (var index = 0; index < items.Count; index++)
        {
            var item = items[index];
            var findings = results[index];
            var flagged = findings.Select(f => f.Category).ToHashSet(StringComparer.Ordinal);
            if (item.Risky)
            {
                var hit = flagged.Contains(item.Category!);
                if (hit)
                {
                    tp++;
                    perCategory[item.Category!][0]++;
                }
                else
                {
                    fn++;
                    perCategory[item.Category!][2]++;
                    if (flagged.Count > 0)
                    {
                        fp++; // predicted risky, but for the wrong reason
                    }

                    misses.Add($"MISS {item.Id} [{item.Category}] got [{string.Join(",", flagged)}]: {item.Text}");
                }
            }
            else if (flagged.Count > 0)
            {
                fp++;
                foreach (var category in flagged)
                {
                    perCategory[category][1]++;
                }

                misses.Add($"FALSE {item.Id} {string.Join("; ", findings.Select(f => $"{f.RuleId}='{f.Match}'"))}: {item.Text}");
            }
        }

        return new CorpusScore(
            new Score(tp, fp, fn),
            [.. perCategory.Select(p => (p.Key, new Score(p.Value[0], p.Value[1], p.Value[2])))],
            misses);
    }

    public string ToMarkdown()
    {
        var builder = new StringBuilder();
        builder.AppendLine("| category | TP | FP | FN | precision | recall | F1 |");
        builder.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (category, score) in Categories.Append(("overall", Overall)))
        {
            builder.AppendLine(CultureInfo.InvariantCulture,
                $"| {category} | {score.TruePositives} | {score.FalsePositives} | {score.FalseNegatives} | {score.Precision:F3} | {score.Recall:F3} | {score.F1:F3} |");
        }

        return builder.ToString();
    }
}
