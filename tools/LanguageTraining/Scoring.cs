using System.Globalization;
using System.Text;
using FeedbackHub.Domain.Language;

namespace FeedbackHub.Tools.LanguageTraining;

/// <summary>Precision/recall counts.</summary>
public sealed record Score(int TruePositives, int FalsePositives, int FalseNegatives)
{
    public double Precision => TruePositives + FalsePositives == 0 ? 1 : (double)TruePositives / (TruePositives + FalsePositives);

    public double Recall => TruePositives + FalseNegatives == 0 ? 1 : (double)TruePositives / (TruePositives + FalseNegatives);

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
}

/// <summary>
/// Item-level scoring, the same as tests/Domain.Tests/Language/CorpusTests: an item is predicted risky when it has any
/// finding; a risky item is a true positive only if a finding of its category is present (flagged only in other
/// categories, it counts as a false positive and a false negative); per category, false positives are the safe items
/// with a finding of that category.
/// </summary>
public sealed record Scorecard(Score Overall, IReadOnlyList<(string Category, Score Score)> Categories, IReadOnlyList<string> Misses)
{
    /// <summary>How many findings the items got in all (to see what a policy adds besides the item-level scores).</summary>
    public int Findings { get; init; }

    public static Scorecard Compute(IReadOnlyList<LabelledItem> items, IReadOnlyList<IReadOnlyList<Finding>> findings, IReadOnlyList<string> categories)
    {
        int tp = 0, fp = 0, fn = 0;
        var misses = new List<string>();
        var perCategory = categories.ToDictionary(c => c, _ => new int[3], StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var flagged = findings[i].Select(f => f.Category).ToHashSet(StringComparer.Ordinal);
            if (item.Risky)
            {
                if (flagged.Contains(item.Category!))
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
                        fp++;
                    }

                    misses.Add($"MISS {item.Id} [{item.Category}/{item.Kind}] got [{string.Join(",", flagged)}]: {item.Text}");
                }
            }
            else if (flagged.Count > 0)
            {
                fp++;
                foreach (var category in flagged)
                {
                    perCategory[category][1]++;
                }

                misses.Add($"FALSE {item.Id} [{item.Kind}/{item.Topic}] {string.Join("; ", findings[i].Select(f => $"{f.RuleId}({f.Confidence?.ToString("F2", CultureInfo.InvariantCulture)})"))}: {item.Text}");
            }
        }

        return new Scorecard(new Score(tp, fp, fn), [.. perCategory.Select(p => (p.Key, new Score(p.Value[0], p.Value[1], p.Value[2])))], misses)
        {
            Findings = findings.Sum(f => f.Count),
        };
    }

    /// <summary>Objective for choosing thresholds: F1, with a penalty below the precision goal.</summary>
    public double Objective(double precisionGoal)
    {
        var penalty = Math.Max(0, precisionGoal - Overall.Precision) * 2;
        var worst = Categories.Where(c => c.Score.TruePositives + c.Score.FalseNegatives > 0).Select(c => c.Score.F1).DefaultIfEmpty(1).Min();
        return Overall.F1 - penalty + (0.05 * worst);
    }

    /// <summary>Side-by-side markdown table of several scorecards (e.g. rules vs full).</summary>
    public static string Table(IReadOnlyList<(string Name, Scorecard Card)> cards, bool counts = false)
    {
        var builder = new StringBuilder();
        builder.Append("| category |");
        foreach (var (name, _) in cards)
        {
            builder.Append(counts ? $" {name} TP | FP | FN | P | R | F1 |" : $" {name} P | R | F1 |");
        }

        builder.AppendLine();
        builder.Append("|---|");
        foreach (var _ in cards)
        {
            builder.Append(counts ? "---:|---:|---:|---:|---:|---:|" : "---:|---:|---:|");
        }

        builder.AppendLine();
        var rows = cards[0].Card.Categories.Select(c => c.Category).Append("**overall**").ToList();
        foreach (var row in rows)
        {
            builder.Append(CultureInfo.InvariantCulture, $"| {row} |");
            foreach (var (_, card) in cards)
            {
                var score = row == "**overall**" ? card.Overall : card.Categories.First(c => c.Category == row).Score;
                if (counts)
                {
                    builder.Append(CultureInfo.InvariantCulture, $" {score.TruePositives} | {score.FalsePositives} | {score.FalseNegatives} |");
                }

                builder.Append(CultureInfo.InvariantCulture, $" {score.Precision:F3} | {score.Recall:F3} | {score.F1:F3} |");
            }

            builder.AppendLine();
        }

        return builder.ToString();
    }
}
