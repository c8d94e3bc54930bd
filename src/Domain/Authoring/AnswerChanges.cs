namespace FeedbackHub.Domain.Authoring;

public enum SegmentKind
{
    Unchanged,
    Added,
    Removed,
}

/// <summary>A run of text that both versions share, or that the later one added or removed.</summary>
public sealed record TextSegment(SegmentKind Kind, string Text);

public enum CriterionChangeKind
{
    /// <summary>Answered in both versions, differently.</summary>
    Changed,

    /// <summary>Answered only in the later version.</summary>
    Added,

    /// <summary>Answered only in the earlier version.</summary>
    Removed,
}

/// <summary>
/// How one criterion's answer changed: the band before and after (null where that version has no answer), the phrases
/// added and removed, and the comment as segments of a word-level comparison (null when the comment did not change).
/// </summary>
public sealed record CriterionChange(
    string Criterion, CriterionChangeKind Kind, string? BandBefore, string? BandAfter,
    IReadOnlyList<string> PhrasesAdded, IReadOnlyList<string> PhrasesRemoved, IReadOnlyList<TextSegment>? Comment)
{
    public bool BandChanged => !string.Equals(BandBefore, BandAfter, StringComparison.Ordinal);
}

/// <summary>
/// What changed between two versions of feedback's answers, per criterion; criteria whose answer is the same are left
/// out, so an empty list means no change. Pure: no clock, no database.
/// </summary>
public static class AnswerChanges
{
    /// <summary>
    /// The largest table the word comparison fills (tokens before × tokens after, once the common start and end are
    /// set aside). Comments have at most 2000 characters (<see cref="Templates.CommentPolicy"/>), so a few hundred
    /// words each; only text that is almost all one-letter words goes past it, and is then shown as replaced whole.
    /// </summary>
    public const int MaxComparedCells = 1_000_000;

    /// <summary>The criteria whose answer differs: in the later version's order, then those only the earlier one answered.</summary>
    public static IReadOnlyList<CriterionChange> Compare(IReadOnlyList<Answer> before, IReadOnlyList<Answer> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var earlier = new Dictionary<string, Answer>(StringComparer.Ordinal);
        foreach (var answer in before)
            earlier.TryAdd(answer.Criterion, answer);
        var later = after.Select(a => a.Criterion).ToHashSet(StringComparer.Ordinal);

        var changes = new List<CriterionChange>();
        foreach (var now in after)
        {
            if (!earlier.TryGetValue(now.Criterion, out var then))
            {
                changes.Add(new CriterionChange(now.Criterion, CriterionChangeKind.Added, null, now.Band, Distinct(now.Phrases), [],
                    now.Comment is null ? null : [new TextSegment(SegmentKind.Added, now.Comment)]));
                continue;
            }

            var added = Except(now.Phrases, then.Phrases);
            var removed = Except(then.Phrases, now.Phrases);
            var comment = string.Equals(then.Comment, now.Comment, StringComparison.Ordinal) ? null : CompareText(then.Comment, now.Comment);
            if (then.Band != now.Band || added.Count > 0 || removed.Count > 0 || comment is not null)
                changes.Add(new CriterionChange(now.Criterion, CriterionChangeKind.Changed, then.Band, now.Band, added, removed, comment));
        }

        foreach (var then in earlier.Values.Where(a => !later.Contains(a.Criterion)))
        {
            changes.Add(new CriterionChange(then.Criterion, CriterionChangeKind.Removed, then.Band, null, [], Distinct(then.Phrases),
                then.Comment is null ? null : [new TextSegment(SegmentKind.Removed, then.Comment)]));
        }

        return changes;
    }

    /// <summary>
    /// A word-level comparison: the later text cut into unchanged, added and removed runs (in reading order, a removed
    /// run before the run added in its place). Words and the spaces between them are compared as whole tokens (a longest
    /// common subsequence); a space between a replacement and a further change joins them, so a rewritten phrase reads as
    /// one replacement.
    /// </summary>
    public static IReadOnlyList<TextSegment> CompareText(string? before, string? after)
    {
        var a = Tokens(before ?? string.Empty);
        var b = Tokens(after ?? string.Empty);
        var prefix = 0;
        while (prefix < a.Count && prefix < b.Count && a[prefix] == b[prefix])
            prefix++;
        var suffix = 0;
        while (suffix < a.Count - prefix && suffix < b.Count - prefix && a[^(suffix + 1)] == b[^(suffix + 1)])
            suffix++;

        var ops = new List<(SegmentKind Kind, string Token)>();
        ops.AddRange(a.Take(prefix).Select(t => (SegmentKind.Unchanged, t)));
        Middle(a.Skip(prefix).Take(a.Count - prefix - suffix).ToArray(), b.Skip(prefix).Take(b.Count - prefix - suffix).ToArray(), ops);
        ops.AddRange(a.Skip(a.Count - suffix).Select(t => (SegmentKind.Unchanged, t)));
        return Segments(ops);
    }

    private static void Middle(string[] a, string[] b, List<(SegmentKind, string)> ops)
    {
        if ((long)a.Length * b.Length > MaxComparedCells)
        {
            ops.AddRange(a.Select(t => (SegmentKind.Removed, t)));
            ops.AddRange(b.Select(t => (SegmentKind.Added, t)));
            return;
        }

        // common[i, j]: length of the longest common subsequence of a[i..] and b[j..].
        var width = b.Length + 1;
        var common = new int[(a.Length + 1) * width];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                common[i * width + j] = a[i] == b[j]
                    ? common[(i + 1) * width + j + 1] + 1
                    : Math.Max(common[(i + 1) * width + j], common[i * width + j + 1]);
            }
        }

        int x = 0, y = 0;
        while (x < a.Length && y < b.Length)
        {
            if (a[x] == b[y])
            {
                ops.Add((SegmentKind.Unchanged, a[x++]));
                y++;
            }
            else if (common[(x + 1) * width + y] >= common[x * width + y + 1])
                ops.Add((SegmentKind.Removed, a[x++]));
            else
                ops.Add((SegmentKind.Added, b[y++]));
        }

        ops.AddRange(a.Skip(x).Select(t => (SegmentKind.Removed, t)));
        ops.AddRange(b.Skip(y).Select(t => (SegmentKind.Added, t)));
    }

    /// <summary>Joins tokens into runs: each stretch of changes becomes one removed run and one added run.</summary>
    private static List<TextSegment> Segments(List<(SegmentKind Kind, string Token)> ops)
    {
        var segments = new List<TextSegment>();
        var same = new System.Text.StringBuilder();
        var removed = new System.Text.StringBuilder();
        var added = new System.Text.StringBuilder();

        void FlushChanges()
        {
            if (removed.Length > 0)
                segments.Add(new TextSegment(SegmentKind.Removed, removed.ToString()));
            if (added.Length > 0)
                segments.Add(new TextSegment(SegmentKind.Added, added.ToString()));
            removed.Clear();
            added.Clear();
        }

        for (var i = 0; i < ops.Count; i++)
        {
            var (kind, token) = ops[i];
            var joinsChanges = kind == SegmentKind.Unchanged && string.IsNullOrWhiteSpace(token)
                && removed.Length > 0 && added.Length > 0 && i + 1 < ops.Count && ops[i + 1].Kind != SegmentKind.Unchanged;
            if (kind == SegmentKind.Unchanged && !joinsChanges)
            {
                FlushChanges();
                same.Append(token);
                continue;
            }

            if (same.Length > 0)
            {
                segments.Add(new TextSegment(SegmentKind.Unchanged, same.ToString()));
                same.Clear();
            }

            if (kind != SegmentKind.Added)
                removed.Append(token);
            if (kind != SegmentKind.Removed)
                added.Append(token);
        }

        FlushChanges();
        if (same.Length > 0)
            segments.Add(new TextSegment(SegmentKind.Unchanged, same.ToString()));
        return segments;
    }

    /// <summary>The text cut into words and the whitespace between them.</summary>
    private static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || char.IsWhiteSpace(text[i]) != char.IsWhiteSpace(text[i - 1]))
            {
                tokens.Add(text[start..i]);
                start = i;
            }
        }

        return tokens;
    }

    private static List<string> Distinct(IReadOnlyList<string> phrases) => phrases.Distinct(StringComparer.Ordinal).ToList();

    private static List<string> Except(IReadOnlyList<string> these, IReadOnlyList<string> those) =>
        these.Where(p => !those.Contains(p, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
}
