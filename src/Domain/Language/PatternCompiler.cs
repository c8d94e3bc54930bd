using System.Text;

namespace FeedbackHub.Domain.Language;

/// <summary>Turns pattern text into word sequences: alternations expanded, hyphen variants added, words stemmed.</summary>
internal static class PatternCompiler
{
    public const string AnyWord = "_";
    public const string AnyNumber = "#";
    private const int MaxExpansions = 4096;
    private const int MaxWords = 12;

    /// <summary>Strips pattern syntax so a tenant's phrase is matched literally.</summary>
    public static string Literal(string phrase)
    {
        ArgumentNullException.ThrowIfNull(phrase);
        var builder = new StringBuilder(phrase.Length);
        foreach (var c in phrase)
        {
            builder.Append(c is '(' or ')' or '|' or '_' or '#' ? ' ' : c);
        }

        return string.Join(' ', builder.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>All word sequences (stemmed) a pattern stands for.</summary>
    public static IReadOnlyList<string[]> Expand(string pattern)
    {
        var normalized = TextNormalizer.NormalizeString(pattern);
        var results = new List<string[]>();
        foreach (var variant in ExpandAlternations(normalized).SelectMany(ExpandHyphens).Distinct(StringComparer.Ordinal))
        {
            var words = Words(variant);
            if (words.Length == 0)
            {
                continue;
            }

            if (words.Length > MaxWords)
            {
                throw new InvalidOperationException($"Pattern '{pattern}' is longer than {MaxWords} words.");
            }

            if (words[0] == AnyWord)
            {
                throw new InvalidOperationException($"Pattern '{pattern}' must not start with '_'.");
            }

            results.Add(words);
        }

        return results;
    }

    private static string[] Words(string text)
    {
        var words = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is '_' or '#')
            {
                words.Add(c == '_' ? AnyWord : AnyNumber);
                i++;
            }
            else if (char.IsLetterOrDigit(c))
            {
                var start = i;
                while (i < text.Length && char.IsLetterOrDigit(text[i]))
                {
                    i++;
                }

                words.Add(Stemmer.Stem(text[start..i]));
            }
            else
            {
                i++;
            }
        }

        return [.. words];
    }

    private static List<string> ExpandAlternations(string pattern)
    {
        var results = new List<string> { string.Empty };
        var i = 0;
        while (i < pattern.Length)
        {
            if (pattern[i] == '(')
            {
                var close = pattern.IndexOf(')', i);
                if (close < 0)
                {
                    throw new InvalidOperationException($"Unclosed '(' in pattern '{pattern}'.");
                }

                var inner = pattern[(i + 1)..close];
                if (inner.Contains('(', StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"Nested '(' in pattern '{pattern}' is not supported.");
                }

                var options = inner.Split('|');
                results = [.. results.SelectMany(prefix => options.Select(o => prefix + " " + o.Trim() + " "))];
                i = close + 1;
            }
            else
            {
                var next = pattern.IndexOf('(', i);
                var end = next < 0 ? pattern.Length : next;
                var literal = pattern[i..end];
                results = [.. results.Select(prefix => prefix + literal)];
                i = end;
            }

            if (results.Count > MaxExpansions)
            {
                throw new InvalidOperationException($"Pattern '{pattern}' expands to too many phrases.");
            }
        }

        return results;
    }

    private static IEnumerable<string> ExpandHyphens(string phrase)
    {
        // "over-qualified" also matches "over qualified" and "overqualified".
        var hyphen = phrase.IndexOf('-', StringComparison.Ordinal);
        if (hyphen <= 0 || hyphen == phrase.Length - 1 || !char.IsLetterOrDigit(phrase[hyphen - 1]) || !char.IsLetterOrDigit(phrase[hyphen + 1]))
        {
            if (hyphen >= 0 && hyphen < phrase.Length - 1)
            {
                // A stray hyphen: keep looking after it.
                foreach (var rest in ExpandHyphens(phrase[(hyphen + 1)..]))
                {
                    yield return phrase[..(hyphen + 1)] + rest;
                }

                yield break;
            }

            yield return phrase;
            yield break;
        }

        foreach (var rest in ExpandHyphens(phrase[(hyphen + 1)..]))
        {
            yield return phrase[..hyphen] + " " + rest;
            yield return phrase[..hyphen] + rest;
        }
    }
}
